"""Residents' phone numbers are personal data: every log line goes through this mask."""

import logging
import re

# Mainland mobiles and Shanghai landlines, with or without separators.
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)[\s-]?\d{4}[\s-]?(\d{4})(?!\d)|(?<!\d)(021)[\s-]?\d{4}(\d{4})(?!\d)")


def mask_phones(text: str) -> str:
    def _mask(m: re.Match[str]) -> str:
        head, tail = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        return f"{head}****{tail}"

    return _PHONE.sub(_mask, text)


class MaskPersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_phones(record.getMessage())
        record.args = ()
        return True


def install_log_masking() -> None:
    mask = MaskPersonalDataFilter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(mask)
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(mask)
