"""`python -m terminal.demo write DIR`: the demo policy, catalogue, persons and claims for today."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from terminal.demo import demo_basket, demo_catalogue, demo_claim, demo_persons, demo_policy_text


def main(argv: list[str]) -> int:
    if argv[:1] == ["his"]:
        return _his(argv[1:])
    if len(argv) != 2 or argv[0] != "write":
        print("usage: python -m terminal.demo write DIR | his [--operator ID]", file=sys.stderr)
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


def _his(argv: list[str]) -> int:
    """A demo hospital system against the terminal `make run` started (docs/his.md)."""
    import subprocess

    from terminal.config import load_config
    from terminal.demo.his import run_demo_his

    operator = argv[1] if argv[:1] == ["--operator"] and len(argv) == 2 else "1001"
    config = load_config()
    token = config.his.token
    if not token:
        path = config.data_dir / "his-token"
        if not path.exists():
            print(f"no {path}: start the terminal first (make run)", file=sys.stderr)
            return 2
        token = path.read_text(encoding="ascii").strip()
    signin = [sys.executable, "-m", "terminal.cli", "signin", "--operator", operator]
    subprocess.run(signin, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    url = f"http://{config.web.host}:{config.web.port}"
    return run_demo_his(config, url, token, operator)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
