"""The receipt as one self-contained printable HTML page (docs/printer.md): inline CSS, the verify
code as inline SVG, no external resources, so it shows in an iframe and prints from a browser.

Every field goes through Jinja2's autoescaping; the only markup not escaped is the SVG the
`qrcode` library draws (paths and numbers; the verify text itself is not in it).
"""

from __future__ import annotations

import qrcode.image.svg
from jinja2 import Environment
from markupsafe import Markup

from drivers.printer.qrcodes import build_qr
from drivers.printer.receipt import Receipt, present

__all__ = ["qr_svg", "receipt_html"]

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)

_TEMPLATE = _ENV.from_string(
    """<!DOCTYPE html>
<html lang="{{ v.lang_tag }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ v.title }} {{ txn_id }}</title>
<style>
  @page { margin: 4mm; }
  body { margin: 0; background: #fff; color: #000; }
  .receipt { max-width: 72mm; margin: 0 auto; padding: 3mm;
    font: 12px/1.4 "Noto Sans Mono CJK SC", "Source Han Sans SC", "Microsoft YaHei", monospace; }
  h1 { font-size: 16px; margin: 0; text-align: center; }
  h2 { font-size: 13px; margin: 0 0 2px; text-align: center; font-weight: normal; }
  .marker { text-align: center; font-weight: bold; margin: 0; }
  table { width: 100%; border-collapse: collapse; }
  section { border-top: 1px dashed #000; padding: 2px 0; }
  th { text-align: left; font-weight: normal; padding-right: 1em; vertical-align: top; }
  td { text-align: right; vertical-align: top; overflow-wrap: anywhere; }
  .item { padding: 2px 0; }
  .item .name { overflow-wrap: anywhere; }
  .item .qty { display: flex; justify-content: space-between; padding-left: 1em; }
  .item .detail, .item .code { padding-left: 1em; color: #333; }
  .item .code { font-size: 10px; }
  .qr { text-align: center; padding-top: 3mm; }
  .qr svg { width: 32mm; height: 32mm; }
  @media print { .receipt { max-width: none; padding: 0; } }
</style>
</head>
<body>
<div class="receipt">
<h1>{{ v.shop_name }}</h1>
<h2>{{ v.title }}</h2>
{% for marker in v.markers %}
<p class="marker">*** {{ marker }} ***</p>
{% endfor %}
<section><table>
{% for f in v.header %}
<tr><th>{{ f.label }}</th><td>{{ f.value }}</td></tr>
{% endfor %}
</table></section>
<section>
{% for item in v.items %}
<div class="item">
<div class="name">{{ item.name }}</div>
{% if item.code %}<div class="code">{{ item.code }}</div>{% endif %}
<div class="qty"><span>{{ item.quantity }}</span><span>{{ item.amount }}</span></div>
{% if item.detail %}<div class="detail">{{ item.detail }}</div>{% endif %}
</div>
{% endfor %}
</section>
<section><table>
{% for f in v.totals %}
<tr><th>{{ f.label }}</th><td>{{ f.value }}</td></tr>
{% endfor %}
</table></section>
{% for s in v.sections %}
<section class="kept">
<p class="marker">{{ s.title }}</p>
{% for item in s.items %}
<div class="item">
<div class="name">{{ item.name }}</div>
<div class="qty"><span>{{ item.quantity }}</span><span>{{ item.amount }}</span></div>
{% if item.detail %}<div class="detail">{{ item.detail }}</div>{% endif %}
</div>
{% endfor %}
<table>
{% for f in s.totals %}
<tr><th>{{ f.label }}</th><td>{{ f.value }}</td></tr>
{% endfor %}
</table></section>
{% endfor %}
<section><table>
{% for f in v.footer %}
<tr><th>{{ f.label }}</th><td>{{ f.value }}</td></tr>
{% endfor %}
</table></section>
{% if svg %}
<div class="qr">{{ svg }}<div>{{ v.verify_label }}</div></div>
{% endif %}
</div>
</body>
</html>
"""
)


def qr_svg(text: str) -> str:
    """`text` as a QR code (error correction M, 4-module quiet zone) in one inline SVG element."""
    code = build_qr(
        text,
        box_size=10,  # one module = one viewBox unit; CSS sets the printed size
        image_factory=qrcode.image.svg.SvgPathFillImage,
    )
    return str(code.make_image().to_string(encoding="unicode"))


def receipt_html(receipt: Receipt) -> str:
    """The receipt as a standalone HTML page in its language."""
    view = present(receipt)
    svg = Markup(qr_svg(view.verify_text)) if view.verify_text else ""  # noqa: S704 - qrcode's own SVG
    return _TEMPLATE.render(v=view, txn_id=receipt.txn_id, svg=svg)
