"""`/metrics` in the Prometheus text format for the hub and the terminal (docs/operations.md
"Metrics"), with prometheus-client, the one module that imports it.

What every app gets: `medpos_http_requests_total{app, method, route, status}` and
`medpos_http_request_seconds{app, route}` (to the response's first byte, so a server-sent event
stream counts its start), by route template, never by raw path (no label per sale). The hub adds
`medpos_messages_total{infno, outcome}` (`accepted` `adjusted` `rejected` `held` for uploads and
reversals, `processed` for other messages, `refused` at the envelope). The figures read at scrape
time (queue depth, oldest unsynced age, last sync) come from a `Gauges` callable that asks the
database, so every process of a hub reports the same.

Several hub processes (`medpos hub serve --workers N`): prometheus-client's multiprocess mode,
chosen by `PROMETHEUS_MULTIPROC_DIR` (the serve command sets it to a fresh directory): each
process writes its counters to files there and any process's `/metrics` sums them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["MULTIPROC_ENV", "Gauge", "Gauges", "count_messages", "instrument", "render"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# (name, help, value, labels): one sample of a gauge read at scrape time
Gauge = tuple[str, str, float, Mapping[str, str]]
Gauges = Callable[[], Iterable[Gauge]]

REQUESTS = Counter(
    "medpos_http_requests", "HTTP requests answered", ["app", "method", "route", "status"]
)
LATENCY = Histogram(
    "medpos_http_request_seconds",
    "Time to the response's first byte",
    ["app", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
MESSAGES = Counter(
    "medpos_messages", "Platform messages answered, by outcome", ["app", "infno", "outcome"]
)

_ANSWER_STATUS = ("accepted", "adjusted", "rejected", "held")


def count_messages(app: str, envelopes: Sequence[Any], responses: Sequence[Any]) -> None:
    """Count each answered message under its `infno` and outcome."""
    for envelope, response in zip(envelopes, responses, strict=False):
        infno = envelope.get("infno") if isinstance(envelope, Mapping) else None
        infno = infno if isinstance(infno, str) and len(infno) == 4 else "other"
        MESSAGES.labels(app, infno, _outcome(response)).inc()


def _outcome(response: Any) -> str:
    if not isinstance(response, Mapping) or response.get("infcode") != 0:
        return "refused"
    setlinfo = (response.get("output") or {}).get("setlinfo")
    status = setlinfo.get("status") if isinstance(setlinfo, Mapping) else None
    return status if status in _ANSWER_STATUS else "processed"


class _ScrapeGauges(Collector):
    """The gauges `read` gives, asked at each scrape."""

    def __init__(self, read: Gauges) -> None:
        self.read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        families: dict[str, GaugeMetricFamily] = {}
        for name, help_, value, labels in self.read():
            family = families.get(name)
            if family is None:
                family = families[name] = GaugeMetricFamily(name, help_, labels=sorted(labels))
            family.add_metric([labels[k] for k in sorted(labels)], value)
        return list(families.values())


def render(gauges: Gauges | None = None) -> tuple[bytes, str]:
    """(body, content type) of a scrape: this process's counters, or every process's in
    multiprocess mode, and the `gauges` read now."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    if gauges is not None:
        scrape = CollectorRegistry()
        scrape.register(_ScrapeGauges(gauges))
        body += generate_latest(scrape)
    return body, CONTENT_TYPE_LATEST


def instrument(app: Any, name: str, gauges: Gauges | None = None) -> None:
    """Count and time `app`'s requests under `name`, and serve `GET /metrics` on it."""
    from starlette.responses import Response

    def metrics() -> Response:
        body, content_type = render(gauges)
        return Response(body, media_type=content_type)

    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
    app.add_middleware(_Timing, name=name)


class _Timing:
    """ASGI middleware: each HTTP request counted and timed under its route's template."""

    def __init__(self, app: Any, name: str) -> None:
        self.app, self.name = app, name

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answered = False

        async def timed_send(message: Any) -> None:
            nonlocal answered
            if message["type"] == "http.response.start" and not answered:
                answered = True
                self._record(scope, message["status"], started)
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            if not answered:  # the app failed before answering: the server answers 500
                self._record(scope, 500, started)

    def _record(self, scope: Any, status: int, started: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "other"
        REQUESTS.labels(self.name, scope.get("method", ""), route, str(status)).inc()
        LATENCY.labels(self.name, route).observe(time.perf_counter() - started)
