"""Generate terminal/demo/data/catalogue.json: the demo catalogue of the embedded default.

Deterministic (no randomness): real generic drug names with two pack sizes each, consumables and
services; categories A/B/C, first-self-pay ratios for B, price caps (some selling prices above
them), restricted items, units, default prices and valid GTIN-13 barcodes (prefix 69, China).
The drugs are in `scripts/demo_drugs.tsv`. Run: `.venv/bin/python scripts/gen_demo_catalogue.py`.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "terminal" / "demo" / "data" / "catalogue.json"

# group code, generic name, (spec, unit, price) x 2, category: one drug a line, tab-separated
DRUGS_FILE = Path(__file__).resolve().parent / "demo_drugs.tsv"


def read_drugs(path: Path = DRUGS_FILE) -> list[tuple[str, ...]]:
    """The drug table: nine tab-separated fields a line; `#` lines are comments."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = tuple(line.split("\t"))
        if len(fields) != 9:
            raise SystemExit(f"{path}:{number}: expected 9 tab-separated fields, got {len(fields)}")
        rows.append(fields)
    return rows


# restricted: code group → (med types, flags) — 限定支付
RESTRICTED = {
    "L01EA": (["14", "21"], ["cancer"]),
    "L01EB": (["14", "21"], ["cancer"]),
    "L04AD": (["14", "21"], None),
    "A10AE": (["14", "21"], None),
    "N06DX": (["14"], None),
    "R03AK": (["14", "21"], None),
    "A10BK": (["14", "11", "21"], None),
    "ZA09": (["21"], None),
    "A11CC": (None, ["child"]),
}

CONSUMABLES = [
    ("HC001", "一次性使用无菌注射器 5ml", "支", "0.60", "A"),
    ("HC002", "一次性使用输液器", "套", "2.80", "A"),
    ("HC003", "医用脱脂纱布块 8*8cm", "包", "3.20", "B"),
    ("HC004", "医用外科口罩", "只", "0.50", "C"),
    ("HC005", "血糖试纸 50片", "盒", "98.00", "B"),
    ("HC006", "一次性使用采血针", "盒", "18.60", "C"),
    ("HC007", "医用弹性绷带", "卷", "6.80", "B"),
    ("HC008", "医用棉签", "包", "2.50", "C"),
    ("HC009", "电子体温计", "支", "29.80", "C"),
    ("HC010", "医用碘伏消毒液 100ml", "瓶", "5.80", "C"),
    ("HC011", "导尿包", "套", "26.80", "B"),
    ("HC012", "造口袋", "个", "38.00", "B"),
]

SERVICES = [
    ("SV001", "普通门诊诊察费", "次", "10.00", "A"),
    ("SV002", "副主任医师门诊诊察费", "次", "20.00", "A"),
    ("SV003", "主任医师门诊诊察费", "次", "30.00", "A"),
    ("SV004", "血常规检查", "次", "20.00", "A"),
    ("SV005", "尿常规检查", "次", "10.00", "A"),
    ("SV006", "肝功能检查", "次", "66.00", "A"),
    ("SV007", "肾功能检查", "次", "36.00", "A"),
    ("SV008", "糖化血红蛋白测定", "次", "60.00", "B"),
    ("SV009", "心电图检查", "次", "25.00", "A"),
    ("SV010", "胸部X线摄影", "次", "80.00", "A"),
    ("SV011", "腹部彩色多普勒超声", "次", "150.00", "B"),
    ("SV012", "头颅CT平扫", "次", "260.00", "B"),
    ("SV013", "头颅磁共振平扫", "次", "560.00", "B"),
    ("SV014", "静脉输液", "次", "12.00", "A"),
    ("SV015", "肌肉注射", "次", "3.00", "A"),
    ("SV016", "普通病房床位费", "日", "50.00", "A"),
    ("SV017", "二级护理", "日", "30.00", "A"),
    ("SV018", "单人间床位费", "日", "260.00", "C"),
    ("SV019", "针灸", "次", "35.00", "B"),
    ("SV020", "推拿治疗", "次", "40.00", "B"),
    ("SV021", "体检套餐", "次", "480.00", "C"),
    ("SV022", "医学美容咨询", "次", "200.00", "C"),
]


def gtin13(body12: str) -> str:
    """A GTIN-13 with its check digit (GS1: weights 1 and 3 from the left)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def ratio_for(index: int) -> str:
    return ("0.05", "0.10", "0.15", "0.20", "0.30")[index % 5]


# trace-codes.md: every drug's packages carry codes. The items of the demo claims, and the few
# the UI benches and the counter's examples scan, keep a no-code stock (bought before the rule)
# large enough for `medpos checkout --repeat`, the benches and the README's examples; the other
# drugs have none, so the counter shows the code flow.
DEMO_CLAIM_ITEMS = frozenset(
    {
        "XC10AA0055",
        "XM01AH0041",
        "XC08CA0084",
        "XA12AX0219",
        "XJ01CA0001",
        "XR05CB0191",
        "XB01AF0053",
        "XL01EA0279",
        # scanned by bench/ui.py, tests/ui/harness.py and the counter's examples
        "XJ01CR0003",
        "XJ01FA0011",
        "XJ01CA0002",
        "XA10BK0123",
    }
)
NO_CODE_STOCK = "1000000"


def pack_size(spec: str) -> str:
    """Units per package from a spec such as `0.25g*24粒` (1 when it names none)."""
    match = re.search(r"\*(\d+)", spec)
    return match.group(1) if match else "1"


def trace_fields(code: str, spec: str) -> dict[str, object]:
    """A drug's trace fields: codes required, its pack size, the demo claims' no-code stock."""
    fields: dict[str, object] = {"trac_required": True, "pack_qty": pack_size(spec)}
    if code in DEMO_CLAIM_ITEMS:
        fields["no_code_qty"] = NO_CODE_STOCK
    return fields


def build() -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    serial = 0
    for n, (group, name, spec1, unit1, price1, spec2, unit2, price2, cat) in enumerate(
        read_drugs()
    ):
        for k, (spec, unit, price) in enumerate(((spec1, unit1, price1), (spec2, unit2, price2))):
            serial += 1
            code = f"X{group}{serial:04d}"
            item: dict[str, object] = {
                "code": code,
                "name": f"{name} {spec}",
                "category": cat,
                "unit": unit,
                "price": price,
                "barcodes": [gtin13(f"69{(n * 7 + 101) % 1000:03d}{serial:07d}")],
            }
            if serial % 9 == 0:  # some items carry a second (older) barcode
                item["barcodes"] = [
                    *item["barcodes"],
                    gtin13(f"69{(n * 3 + 501) % 1000:03d}{serial:07d}"),
                ]  # type: ignore[misc]
            if cat == "B":
                item["selfpay_ratio"] = ratio_for(n + k)
            if cat != "C" and serial % 4 == 0:
                # 最高支付限价: every fourth item; one in three of those sells above its cap
                cap = Decimal(price) * (Decimal("0.92") if serial % 3 == 0 else Decimal("1.10"))
                item["price_cap"] = str(cap.quantize(Decimal("0.0001")))
            restriction = RESTRICTED.get(group)
            if restriction is not None and cat != "C":
                med, flags = restriction
                if med:
                    item["restrict_med_types"] = med
                if flags:
                    item["restrict_flags"] = flags
            item.update(trace_fields(code, spec))
            items.append(item)
    for offset, rows in ((800, CONSUMABLES), (900, SERVICES)):
        for i, (code, name, unit, price, cat) in enumerate(rows):
            serial += 1
            item = {
                "code": code,
                "name": name,
                "category": cat,
                "unit": unit,
                "price": price,
                "barcodes": [gtin13(f"69{offset + i:03d}{serial:07d}")],
            }
            if cat == "B":
                item["selfpay_ratio"] = ratio_for(i)
            items.append(item)
    # a tablet priced per piece, with four decimal places
    items.append(
        {
            "code": "XN02BE9001",
            "name": "对乙酰氨基酚片 0.5g(拆零)",
            "category": "A",
            "unit": "片",
            "price": "0.2917",
            "price_cap": "0.2500",
            "barcodes": [gtin13("699990009001")],
            "trac_required": True,
            "pack_qty": "20",  # sold by the tablet from boxes of 20 (拆零)
            "unit_is_pack": False,
        }
    )
    return items


def main() -> None:
    items = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(items, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(items)} items written to {OUT}")


if __name__ == "__main__":
    main()
