"""Reading one short spoken answer: yes or no, how many people, which floor, up or down.

Form answers are taken from the raw text (recognition slips and Shanghainese included); the NLU
intent only helps with yes/no. Times go through chinese_time, phone numbers through phone.
"""

import re
import unicodedata

import cn2an

_CN_NUMBER = "零〇一二两三四五六七八九十百"
_NUM = rf"[0-9{_CN_NUMBER}]+"

CANCEL = re.compile(r"算了|不要了|勿要了|覅了|不叫了|不订了|不约了|不报了|不弄了|不去了|取消|撤销|退掉|不办了")
_NO = re.compile(r"不|没|勿|覅|呒|别|否|错")
_YES = re.compile(r"对|是|好|可以|行|要|嗯|没错|确认|确定|OK|ok|就这样|没问题")


def to_int(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    try:
        return int(cn2an.cn2an(token.replace("两", "二").replace("〇", "零"), "smart"))
    except (ValueError, KeyError, TypeError):
        return None


def digits_of(text: str) -> str:
    """Digits said one by one (三零五一二七, 幺) as digits; other characters kept."""
    return text.translate(str.maketrans("零〇一幺二两三四五六七八九洞", "00112234567890"))


def is_cancel(text: str) -> bool:
    return bool(CANCEL.search(text))


def yes_no(text: str, intent: str = "") -> bool | None:
    if intent == "affirm" or re.search(r"没错|没问题|不错", text):
        return True
    if intent == "deny" or _NO.search(text):
        return False
    if _YES.search(text):
        return True
    return None


def passengers(text: str) -> int | None:
    match = re.search(rf"({_NUM})\s*(个|位|人|口)", text)
    if match:
        return to_int(match.group(1))
    if re.search(r"就我|我自家|我自己|只有我|一个人|独自", text):
        return 1
    if re.search(r"(我|阿拉)(跟|和|同|带)", text) or "老伴" in text:
        return 2
    bare = re.fullmatch(rf"\s*({_NUM})\s*", text)
    return to_int(bare.group(1)) if bare else None


def assistance(text: str) -> str | None:
    """What help the ride needs: "轮椅", "需要搀扶", "不需要" — or None if the answer says nothing."""
    wheelchair = "轮椅" in text
    help_words = re.search(r"扶|搀|拐杖|走不动|走勿动|帮忙|背", text)
    refused = re.search(r"不用|不要|不需要|没有|勿|覅|呒没|自家走|走得动|不必", text)
    if refused and not (wheelchair and re.search(r"要带|带上|要放", text)):
        return "不需要"
    if wheelchair:
        return "轮椅"
    if help_words:
        return "需要搀扶"
    return None


def direction(text: str) -> str | None:
    if re.search(r"往返|来回|上下都|两趟|去了还要回|回来还要", text):
        return "往返"
    if re.search(r"下楼|下去|下来|出门|送下", text):
        return "下楼"
    if re.search(r"上楼|上去|回来|回家|送上", text):
        return "上楼"
    return None


def building(text: str) -> str | None:
    match = re.search(rf"({_NUM})\s*(号楼|号|栋|幢)", text)
    if match is None:
        return None
    number = to_int(match.group(1))
    return f"{number}号楼" if number else None


def floor_and_room(text: str) -> tuple[int | None, str]:
    """(floor, room): "602室" → (6, "602"); "六楼" → (6, ""); "七层" → (7, "")."""
    rest = re.sub(rf"{_NUM}\s*(号楼|号|栋|幢)", " ", text)
    room = re.search(r"(\d{3,4})\s*(室|号)?", digits_of(rest))
    if room:
        number = room.group(1)
        return int(number[:-2]), number
    match = re.search(rf"({_NUM})\s*(楼|层)", rest)
    if match:
        return to_int(match.group(1)), ""
    return None, ""


_DIGIT_RUN = re.compile(r"[0-9](?:[\s\-—－]?[0-9])*")
_PHONE = re.compile(r"1[3-9][0-9]{9}")  # a mobile number, as phone.normalize_phone takes it


def record_number(text: str) -> str | None:
    """The digits of a record number said back ("3051 2746", "三零五幺 二七四六", an old six-digit
    one): the first run of 6 to 9 digits, spaces and dashes inside it dropped, that is not a phone
    number (a number and a phone said in one breath are told apart by the phone's shape). Whether
    it is a valid number is records.check_number's question: a 7-digit run is returned, to be
    told it is one digit short."""
    said = unicodedata.normalize("NFKC", digits_of(text))
    for match in _DIGIT_RUN.finditer(said):
        run = re.sub(r"[^0-9]", "", match.group())
        if _PHONE.match(run):  # a phone first, then perhaps the number
            run = run[11:]
        elif _PHONE.fullmatch(run[-11:]):  # the number, then the phone
            run = run[:-11]
        if 6 <= len(run) <= 9:
            return run
    return None


_FILLER = re.compile(
    r"^(就是|就在|我在|我要去|要去|我去|是去|是在|是到|就|是|在|去|到|从)+|[啊呀额哦吧呢嘛伐。，！？,.!?\s]+$"
)


def place(text: str) -> str | None:
    """A place said freely ("就在五号楼门口啊" → "五号楼门口"); None if nothing is left."""
    if text.startswith("/"):  # a button payload such as /affirm names no place
        return None
    cleaned = _FILLER.sub("", text.strip()).strip()
    cleaned = _FILLER.sub("", cleaned).strip()
    return cleaned[:200] if len(cleaned) >= 2 else None
