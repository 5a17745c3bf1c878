"""Property-based tests (Hypothesis) for the two parsers every booking leans on: phone numbers as
residents say them, and Chinese times. Whatever the words, they answer or explain; they never
crash, and what they read is what was said."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services import chinese_time, phone

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=SHANGHAI)  # a Saturday morning
SPOKEN = {d: w for d, w in zip("0123456789", "零一二三四五六七八九", strict=True)}

mobile = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


@st.composite
def said_phone(draw: st.DrawFn) -> tuple[str, str]:
    """A mobile number and one way a resident might say or type it."""
    number = draw(mobile)
    digits = [draw(st.sampled_from([d, SPOKEN[d], "幺" if d == "1" else d, "两" if d == "2" else d])) for d in number]
    separator = draw(st.sampled_from(["", " ", "-", "，"]))
    groups = ["".join(digits[:3]), "".join(digits[3:7]), "".join(digits[7:])]
    prefix = draw(st.sampled_from(["", "我的号码是", "手机", "+86"]))
    return number, prefix + separator.join(groups)


@given(said_phone())
def test_a_mobile_number_however_said_is_read_back_exactly(case: tuple[str, str]) -> None:
    number, said = case
    assert phone.normalize_phone(said) == number


@given(st.text(max_size=60))
def test_any_words_give_a_number_or_a_kind_explanation(text: str) -> None:
    try:
        read = phone.normalize_phone(text)
    except phone.PhoneError as explained:
        assert str(explained)  # a sentence for the resident, never an empty error
    else:
        assert read.isdigit() and len(read) == 11


DAYS = {"今天": 0, "明天": 1, "后天": 2, "明朝": 1, "后日": 2}
HALVES = {"上午": 0, "早上": 0, "下午": 12, "晚上": 12}


@settings(deadline=None, max_examples=60)  # JioNLP takes a few milliseconds per sentence
@given(
    day=st.sampled_from(sorted(DAYS)),
    half=st.sampled_from(sorted(HALVES)),
    hour=st.integers(min_value=1, max_value=11),
    half_hour=st.booleans(),
)
def test_a_day_and_a_clock_time_are_read_as_that_moment(day: str, half: str, hour: int, half_hour: bool) -> None:
    if (half == "晚上" and hour < 6) or (half == "早上" and hour > 9):
        hour = 7  # "晚上两点" or "早上十一点" are not what residents say
    said = f"{day}{half}{hour}点" + ("半" if half_hour else "")
    found = chinese_time.find_time(said, now=NOW)
    assert found is not None, said
    expected = (NOW + timedelta(days=DAYS[day])).replace(hour=hour + HALVES[half], minute=30 if half_hour else 0)
    assert found.start == expected, said
    assert found.has_clock and found.start.tzinfo is not None


@settings(deadline=None, max_examples=80)
@given(st.text(max_size=40))
def test_any_words_give_a_time_or_none_and_never_an_error(text: str) -> None:
    found = chinese_time.find_time(text, now=NOW)
    if found is not None:
        assert found.start.tzinfo is not None and found.start <= found.end
