"""The taxi form's touch places (bot/services/taxi_places.py): seeded from content/knowledge.yml,
then kept by staff on the console's 内容 page."""

import html
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import get_settings
from bot.models import AuditEntry, ContentChange, KnowledgeEntry, TaxiPlace
from bot.services import taxi_places
from bot.services.content import load_content
from bot.services.taxi_places import TaxiPlaceError, places, set_places
from tests.app.conftest import sign_in

SEEDED_PICKUPS = ["小区大门口", "小区南门", "小区北门", "党群服务站门口"]
FIRST_DESTINATIONS = ["社区卫生服务中心", "第一人民医院", "第六人民医院", "瑞金医院", "华山医院", "中山医院"]


def rows(factory: sessionmaker[Session], kind: str) -> list[tuple[int, str, int]]:
    with factory() as session:
        found = session.execute(
            select(TaxiPlace.id, TaxiPlace.name, TaxiPlace.position)
            .where(TaxiPlace.kind == kind)
            .order_by(TaxiPlace.position)
        )
        return [tuple(row) for row in found]  # type: ignore[misc]


def changes(factory: sessionmaker[Session]) -> list[ContentChange]:
    with factory() as session:
        return list(session.scalars(select(ContentChange).order_by(ContentChange.id)))


def textarea(page: str, name: str) -> str:
    start = page.index(f'<textarea name="{name}"')
    return html.unescape(page[page.index(">", start) + 1 : page.index("</textarea>", start)])


# --- seeding ------------------------------------------------------------------------------------


def test_the_seed_gives_both_lists_in_the_files_order(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        assert places(session, kind="pickup") == SEEDED_PICKUPS
        destinations = places(session, kind="destination")
    assert destinations[:6] == FIRST_DESTINATIONS
    assert 14 <= len(destinations) <= 20 and len(set(destinations)) == len(destinations)
    assert all(len(name) <= taxi_places.MAX_NAME for name in destinations)
    assert [position for _, _, position in rows(seeded, "destination")] == list(range(len(destinations)))


def test_loading_again_keeps_the_staffs_lists_and_overwrite_puts_the_files_back(
    session_factory: sessionmaker[Session],
) -> None:
    path = get_settings().content_file
    with session_factory() as session:
        assert load_content(session, path=path).taxi_place_lists_added == 2
        set_places(session, kind="pickup", names=["5号楼门口", "小区大门口"], actor="admin")
        # a removed seeded place stays removed, and the order staff gave stays
        assert load_content(session, path=path).taxi_place_lists_added == 0
        assert places(session, kind="pickup") == ["5号楼门口", "小区大门口"]
        assert places(session, kind="destination")[:6] == FIRST_DESTINATIONS
        assert load_content(session, path=path, overwrite=True).taxi_place_lists_added == 2
        assert places(session, kind="pickup") == SEEDED_PICKUPS


def test_a_bad_list_in_the_file_writes_nothing(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("policies:\n  - topic: 垃圾分类\n    answer: 好的\ntaxi_places:\n  pickups: [南门, 南门]\n")
    with session_factory() as session:
        with pytest.raises(TaxiPlaceError, match="写了两遍"):
            load_content(session, path=bad)
        assert session.scalar(select(func.count()).select_from(KnowledgeEntry)) == 0
    assert rows(session_factory, "pickup") == []


# --- the service --------------------------------------------------------------------------------


def test_saving_the_same_list_writes_no_change(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        assert set_places(session, kind="pickup", names=[f" {n} " for n in SEEDED_PICKUPS], actor="admin") is False
    assert changes(seeded) == []


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ([], "上车地点至少要留一个。"),
        (["小区南门", "  "], "上车地点第2个是空的"),
        (["小区南门", "长" * 41], "太长了：最多40个字，现在41个字"),
        (["小区南门", "小区北门", "小区南门"], "上车地点“小区南门”写了两遍"),
        ([f"{n}号楼门口" for n in range(31)], "上车地点最多30个，现在有31个"),
    ],
)
def test_a_list_that_cannot_be_kept_is_refused_in_chinese(
    seeded: sessionmaker[Session], names: list[str], message: str
) -> None:
    before = rows(seeded, "pickup")
    with seeded() as session, pytest.raises(TaxiPlaceError, match=message):
        set_places(session, kind="pickup", names=names, actor="admin")
    assert rows(seeded, "pickup") == before and changes(seeded) == []


def test_forty_characters_are_allowed(seeded: sessionmaker[Session]) -> None:
    name = "上海交通大学医学院附属瑞金医院" + "门" * 25
    assert len(name) == 40
    with seeded() as session:
        assert set_places(session, kind="destination", names=[name], actor="admin") is True
        assert places(session, kind="destination") == [name]


def test_an_unknown_kind_is_a_programming_error(seeded: sessionmaker[Session]) -> None:
    with seeded() as session, pytest.raises(ValueError, match="unknown taxi place kind"):
        places(session, kind="airport")


# --- the staff console --------------------------------------------------------------------------


def test_staff_edit_both_lists_from_the_content_page(staff: TestClient, accounts: sessionmaker[Session]) -> None:
    page = staff.get("/staff/content")
    assert page.status_code == 200 and "叫车常用地点" in page.text
    assert textarea(page.text, "pickup").split("\n") == SEEDED_PICKUPS
    kept_id = {name: row_id for row_id, name, _ in rows(accounts, "pickup")}["小区北门"]
    old_destinations = textarea(page.text, "destination").split("\n")

    # reorder, rename, remove, add — and blank lines and stray spaces, as a textarea gives them
    saved = staff.post(
        "/staff/content/taxi-places",
        data={
            "pickup": "小区北门\r\n  小区正大门 \r\n\r\n5号楼门口\r\n",
            "destination": "\n".join(["瑞金医院", *[d for d in old_destinations if d != "瑞金医院"]]),
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/staff/content#taxi-places"
    assert rows(accounts, "pickup")[0] == (kept_id, "小区北门", 0)  # an untouched place keeps its row
    with accounts() as session:
        assert places(session, kind="pickup") == ["小区北门", "小区正大门", "5号楼门口"]
        assert places(session, kind="destination")[:2] == ["瑞金医院", "社区卫生服务中心"]
        audited = list(session.scalars(select(AuditEntry).where(AuditEntry.object_kind == "taxi_places")))
    assert sorted((a.actor, a.action, a.object_id) for a in audited) == [
        ("admin", "change", "destination"),
        ("admin", "change", "pickup"),
    ]
    kept = {c.name: c for c in changes(accounts)}
    assert set(kept) == {"叫车上车地点", "叫车目的地"}
    pickup_change = kept["叫车上车地点"]
    assert (pickup_change.kind, pickup_change.actor) == ("taxi_places", "admin")
    assert pickup_change.before == {"places": SEEDED_PICKUPS}
    assert pickup_change.after == {"places": ["小区北门", "小区正大门", "5号楼门口"]}
    assert kept["叫车目的地"].before == {"places": old_destinations}

    shown = staff.get("/staff/content").text
    assert "叫车常用地点已保存" in shown and "叫车上车地点" in shown  # the notice, and the history
    assert textarea(shown, "pickup").split("\n") == ["小区北门", "小区正大门", "5号楼门口"]


@pytest.mark.parametrize(
    ("pickup", "message"),
    [
        ("", "上车地点至少要留一个。"),
        ("\n \n", "上车地点至少要留一个。"),
        ("小区南门\n" + "很" * 41, "太长了：最多40个字，现在41个字"),
        ("小区南门\n小区北门\n小区南门", "上车地点“小区南门”写了两遍"),
    ],
)
def test_a_bad_list_on_the_page_is_refused_in_chinese_and_changes_nothing(
    staff: TestClient, accounts: sessionmaker[Session], pickup: str, message: str
) -> None:
    pickups_before, destinations_before = rows(accounts, "pickup"), rows(accounts, "destination")
    # a good destination list beside the bad pickups is not saved either: one save, all or nothing
    refused = staff.post("/staff/content/taxi-places", data={"pickup": pickup, "destination": "瑞金医院"})
    assert refused.status_code == 400 and refused.headers["content-type"].startswith("text/html")
    assert message in html.unescape(refused.text) and 'class="flash error"' in refused.text
    assert textarea(refused.text, "pickup") == pickup and textarea(refused.text, "destination") == "瑞金医院"
    assert rows(accounts, "pickup") == pickups_before and rows(accounts, "destination") == destinations_before
    assert changes(accounts) == []


def test_an_unchanged_save_says_so(staff: TestClient, accounts: sessionmaker[Session]) -> None:
    page = staff.get("/staff/content").text
    data = {kind: textarea(page, kind) for kind in ("pickup", "destination")}
    assert "没有改动" in staff.post("/staff/content/taxi-places", data=data).text
    assert changes(accounts) == []


def test_strangers_and_other_sites_cannot_change_the_places(
    client: TestClient, accounts: sessionmaker[Session]
) -> None:
    before = rows(accounts, "pickup")
    stranger = client.post("/staff/content/taxi-places", data={"pickup": "别处"}, follow_redirects=False)
    assert stranger.status_code == 303 and stranger.headers["location"] == "/staff/login"
    page = client.get("/staff/content", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/staff/login")

    assert sign_in(client, username="xiaoli").status_code == 303  # any staff account may edit content
    forged = client.post(
        "/staff/content/taxi-places", data={"pickup": "别处"}, headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    assert rows(accounts, "pickup") == before and changes(accounts) == []
    half = client.post("/staff/content/taxi-places", data={"pickup": "别处"})  # no destination box at all
    assert half.status_code == 400 and "目的地至少要留一个" in half.text
    assert rows(accounts, "pickup") == before and changes(accounts) == []
    mine = client.post("/staff/content/taxi-places", data={"pickup": "别处", "destination": "瑞金医院"})
    assert mine.status_code == 200 and [name for _, name, _ in rows(accounts, "pickup")] == ["别处"]
    assert [c.actor for c in changes(accounts)] == ["xiaoli", "xiaoli"]
