"""Phone numbers as residents say them: 一三八一二三四五六七八, 幺三九…, 138-1234-5678."""

import re

# Digit-by-digit readings (幺 is how 1 is said in phone numbers; 两 slips in too).
_DIGITS = str.maketrans("零〇一幺二两三四五六七八九洞", "00112234567890")
_SEPARATORS = re.compile(r"[\s\-—－,，。.、]")


class PhoneError(ValueError):
    """Carries a short, kind explanation in Chinese for the resident."""


def normalize_phone(text: str) -> str:
    digits = _SEPARATORS.sub("", text.translate(_DIGITS))
    digits = re.sub(r"^(\+?86)(?=1\d{10}$)", "", digits)
    match = re.search(r"\d+", digits)
    if match is None:
        raise PhoneError("没有听到号码。可以一个数字一个数字地说，比如：一三八，一二三四，五六七八。")
    number = match.group()
    if re.fullmatch(r"1[3-9]\d{9}", number):
        return number
    if re.fullmatch(r"(021)?\d{8}", number):
        return number if number.startswith("021") else f"021{number}"
    if number.startswith("1") and len(number) != 11:
        raise PhoneError(f"手机号应该是11位，我听到的是{len(number)}位。")
    raise PhoneError("这个号码好像不对，手机号是11位，座机号是8位。")
