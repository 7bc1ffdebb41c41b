"""The settlement engine (specs/settlement.md): pure, deterministic, integer fen.

`parse_policy`, `parse_catalogue` and `parse_claim` validate the three inputs (errors name the file
and the field); `settle` computes the split; `result_to_json` is what `medpos settle` prints. The
terminal's checkout and the platform's recomputation both use this one engine.
"""

from __future__ import annotations

from terminal.settlement.engine import line_amount, match_scheme, price_lines, settle
from terminal.settlement.identity import age_on, birth_date, id_check_ok
from terminal.settlement.model import (
    Accumulators,
    BasketLine,
    Catalogue,
    CatalogueItem,
    Claim,
    LineResult,
    Person,
    Policy,
    PoolAccumulators,
    Scheme,
    Segment,
    SettlementResult,
    Supplement,
    SupplementAccumulators,
    Visit,
)
from terminal.settlement.output import accumulators_to_json, claim_to_json, result_to_json
from terminal.settlement.parse import (
    accumulators_from_json,
    parse_basket,
    parse_catalogue,
    parse_claim,
    parse_policy,
)

__all__ = [
    "Accumulators",
    "BasketLine",
    "Catalogue",
    "CatalogueItem",
    "Claim",
    "LineResult",
    "Person",
    "Policy",
    "PoolAccumulators",
    "Scheme",
    "Segment",
    "SettlementResult",
    "Supplement",
    "SupplementAccumulators",
    "Visit",
    "accumulators_from_json",
    "accumulators_to_json",
    "age_on",
    "birth_date",
    "claim_to_json",
    "id_check_ok",
    "line_amount",
    "match_scheme",
    "parse_basket",
    "parse_catalogue",
    "parse_claim",
    "parse_policy",
    "price_lines",
    "result_to_json",
    "settle",
]
