"""medpos sync/hub: the reference central platform (specs/platform-api.md).

service         Hub: call(envelope), batch(body), refdata(kind, since); keygen, enrol_code,
                publish (administration)
devices         the root key, enrolment codes and 9101, 9001/9002 sign-in/out, 2601
persons         the persons file, 1101, a person's accumulators
reference       refdata published, served (deltas) and parsed for the recomputation
access          who reads refdata: an enrolled device's signed headers; its persons only
uploads         settlement upload and reversal: input checks, the chain, held entries
settling        pre-settlement and the recomputation with the one settlement engine
reconciliation  3201/3202
errors          HubError (administration), Refused (a message refused at the envelope)
db, schema      open_engine(url), migrate(engine); the tables
statements      the per-message path's SQL, compiled once per dialect
app             create_app(hub): the FastAPI front (imported on its own: it loads FastAPI)
"""

from __future__ import annotations

from sync.hub.db import migrate, open_engine
from sync.hub.errors import HubError
from sync.hub.service import Hub

__all__ = ["Hub", "HubError", "migrate", "open_engine"]
