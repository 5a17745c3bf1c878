"""Public evaluation sentences from CrossWOZ's **train** split (thu-coai/CrossWOZ, Apache-2.0).

CrossWOZ's val and test splits are kept for the final judgment and are never read here. The train
split itself is not in the repository snapshot reachable here (its zip is too large), so the user
turns come through ConvLab-3 (PyPI `convlab==3.0.1`, Apache-2.0), whose
`convlab/nlg/template/crosswoz/auto_user_template_nlg.json` holds every user turn of the train split
(its `generate_auto_template.py` reads `train.json.zip`), grouped by dialogue acts, with slot values
cut out as `[Inform+出租+出发地]`. We put values back from CrossWOZ's own database
(`data/crosswoz/database/*_db.json`), so the sentences read as in the corpus (Beijing places).

- crosswoz_taxi.yml: every distinct turn that asks for a taxi (acts Inform+出租+出发地/目的地) → book_taxi
- crosswoz_ood.yml: 300 turns of the hotel, restaurant, sight and metro domains (no taxi act, no
  greeting or thanks) → out_of_scope: requests a community assistant must not take for a booking

Usage (the two inputs: ConvLab-3's sdist unpacked, and a CrossWOZ checkout):

    pip download --no-deps convlab==3.0.1 && tar xzf convlab-3.0.1.tar.gz
    python tests/nlu_eval/public/extract_crosswoz.py \
        --templates convlab-3.0.1/convlab/nlg/template/crosswoz/auto_user_template_nlg.json \
        --database CrossWOZ/data/crosswoz/database
"""

import argparse
import json
import random
import re
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
PLACEHOLDER = re.compile(r"\[([^\]]+)\]")
NOTICE = (
    "# From CrossWOZ's train split (thu-coai/CrossWOZ, Apache-2.0; Zhu et al. 2020), through ConvLab-3's\n"
    "# user templates (convlab 3.0.1, Apache-2.0), slot values filled from CrossWOZ's database.\n"
    "# Made by tests/nlu_eval/public/extract_crosswoz.py; never trained on.\n"
)


def database(folder: Path) -> dict[str, list[dict]]:
    domains = {"景点": "attraction", "酒店": "hotel", "餐馆": "restaurant", "地铁": "metro"}
    return {cn: [row for _, row in json.loads((folder / f"{en}_db.json").read_text())] for cn, en in domains.items()}


def value(slot: str, db: dict[str, list[dict]], rng: random.Random) -> str | None:
    _, domain, name, *rest = slot.split("+")
    name = re.sub(r"\d+$", "", name)
    rows = db.get(domain) or [row for rows in db.values() for row in rows]
    if domain == "出租" or (domain == "地铁" and name in ("出发地", "目的地")):
        return str(rng.choice(db[rng.choice(["景点", "酒店", "餐馆"])])["名称"])
    if rest and rest[0] == "免费":
        return "免费"
    if name in ("评分",):
        return rng.choice(["4分以上", "4.5分以上", "4.6分", "4.7分以上"])
    if name in ("价格", "人均消费", "门票") and not rest:
        low = rng.choice([50, 100, 200, 300, 500])
        return f"{low}-{low * 2}元"
    if name in ("酒店设施", "推荐菜"):
        pool = [item for row in rows for item in row.get(name) or []]
        return str(rng.choice(pool)) if pool else None
    pool = [row[name] for row in rows if isinstance(row.get(name), str | int | float)]
    return str(rng.choice(pool)) if pool else None


def fill(template: str, db: dict[str, list[dict]], rng: random.Random) -> str | None:
    out = template
    for slot in PLACEHOLDER.findall(template):
        filled = value(slot, db, rng)
        if filled is None:
            return None
        out = out.replace(f"[{slot}]", filled, 1)
    return out.strip()


def write(path: Path, intent: str, texts: list[str]) -> None:
    body = yaml.safe_dump(
        {"writer": "CrossWOZ train", "examples": [{"text": t, "intent": intent} for t in texts]},
        allow_unicode=True,
        sort_keys=False,
        width=1000,
    )
    path.write_text(NOTICE + body, encoding="utf-8")
    print(f"{path.name}: {len(texts)} sentences")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--templates", type=Path, required=True)
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--ood", type=int, default=300)
    args = parser.parse_args()
    templates: dict[str, list[str]] = json.loads(args.templates.read_text(encoding="utf-8"))
    db = database(args.database)
    rng = random.Random(2020)
    taxi, ood = [], []
    for acts, turns in sorted(templates.items()):
        names = acts.split("*") if acts else []
        if any(a.startswith(("Inform+出租+出发地", "Inform+出租+目的地")) for a in names):
            taxi.extend(t for t in (fill(turn, db, rng) for turn in turns) if t)
        elif names and not any("出租" in a or a.startswith("General") for a in names):
            ood.extend(t for t in (fill(turn, db, rng) for turn in turns) if t)
    taxi = sorted(set(taxi))
    ood = sorted(rng.sample(sorted({t for t in ood if not re.search("车|出租|打的", t)}), args.ood))
    write(HERE / "crosswoz_taxi.yml", "book_taxi", taxi)
    write(HERE / "crosswoz_ood.yml", "out_of_scope", ood)


if __name__ == "__main__":
    main()
