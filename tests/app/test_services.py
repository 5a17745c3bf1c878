"""Pure rules: Chinese days, spoken phones, clock words, masking."""

import logging
from datetime import date, datetime

import pytest

from bot.privacy import MaskPersonalDataFilter, mask_phones
from bot.services.chinese_time import find_day
from bot.services.phone import PhoneError, normalize_phone
from bot.services.spoken import clock, period

SATURDAY = datetime(2026, 11, 21, 10, 0)


@pytest.mark.parametrize(
    ("said", "day"),
    [
        ("居委会礼拜六开门伐", date(2026, 11, 21)),
        ("卫生站今朝几点关门", date(2026, 11, 21)),
        ("明朝食堂开伐", date(2026, 11, 22)),
        ("后天", date(2026, 11, 23)),
        ("下礼拜三早上", date(2026, 11, 25)),
        ("礼拜天开伐", date(2026, 11, 22)),
    ],
)
def test_find_day(said: str, day: date) -> None:
    assert find_day(said, now=SATURDAY) == day


def test_a_bare_weekday_already_past_means_the_coming_one() -> None:
    sunday = datetime(2026, 11, 22, 9, 0)
    assert find_day("居委会礼拜六开门伐", now=sunday) == date(2026, 11, 28)
    assert find_day("星期天开伐", now=sunday) == date(2026, 11, 22)
    assert find_day("上礼拜六", now=sunday) == date(2026, 11, 14)  # weeks run Monday to Sunday


def test_no_time_means_none() -> None:
    assert find_day("居委会几点开门", now=SATURDAY) is None


@pytest.mark.parametrize(
    ("said", "digits"),
    [
        ("13812345678", "13812345678"),
        ("一三八一二三四五六七八", "13812345678"),
        ("幺三九，零零幺幺，二二三三", "13900112233"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("54301001", "02154301001"),
    ],
)
def test_normalize_phone(said: str, digits: str) -> None:
    assert normalize_phone(said) == digits


@pytest.mark.parametrize("said", ["一三八一二三", "没有", "12345", "23812345678"])
def test_impossible_phones_are_refused_with_a_reason(said: str) -> None:
    with pytest.raises(PhoneError) as err:
        normalize_phone(said)
    assert err.value.args[0]  # a Chinese sentence for the resident


@pytest.mark.parametrize(
    ("hhmm", "said"),
    [
        ("08:30", "上午8点半"),
        ("12:00", "中午12点"),
        ("13:30", "下午1点半"),
        ("19:15", "晚上7点15分"),
        ("24:00", "夜里12点"),
    ],
)
def test_clock_words(hhmm: str, said: str) -> None:
    assert clock(hhmm) == said


@pytest.mark.parametrize(
    ("opens", "closes", "said"),
    [
        ("08:30", "11:30", "上午8点半到11点半"),
        ("11:00", "13:00", "上午11点到下午1点"),
        ("00:00", "24:00", "凌晨0点到夜里12点"),
    ],
)
def test_periods_say_the_part_of_day_once(opens: str, closes: str, said: str) -> None:
    assert period(opens, closes) == said


def test_log_lines_mask_phone_numbers(caplog: pytest.LogCaptureFixture) -> None:
    assert mask_phones("回电 13812345678 或 021-54301001") == "回电 138****5678 或 021****1001"
    logger = logging.getLogger("test.privacy")
    logger.addFilter(MaskPersonalDataFilter())
    with caplog.at_level(logging.INFO):
        logger.info("callback for %s", "13912345678")
    assert "13912345678" not in caplog.text
    assert "139****5678" in caplog.text
