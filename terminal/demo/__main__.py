"""`python -m terminal.demo write DIR`: the demo policy, catalogue, persons and claims for today."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from terminal.demo import demo_basket, demo_catalogue, demo_claim, demo_persons, demo_policy_text


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "write":
        print("usage: python -m terminal.demo write DIR", file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()

    def dump(name: str, data: object) -> None:
        text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
        (out / name).write_text(text, encoding="utf-8")

    (out / "policy.toml").write_text(demo_policy_text(today.year), encoding="utf-8")
    dump("catalogue.json", demo_catalogue())
    dump("persons.json", demo_persons(today))
    for kind in ("pharmacy", "outpatient", "inpatient"):
        dump(f"claim-{kind}.json", demo_claim(kind, today))
        dump(f"basket-{kind}.json", demo_basket(kind))
    print(f"demo data for {today} written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
