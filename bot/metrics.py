"""The operations endpoint: ``/healthz`` and Prometheus ``/metrics``, a small Starlette app.

The question figures are read from the database at each scrape, so they are right across
restarts and when several processes share one database; send failures are counted in this
process since it started, as Prometheus counters are.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ground.storage import metrics_repo
from ground.vocabulary import OutboxStatus, QuestionStatus

__all__ = ["FIRST_RESPONSE_BUCKETS", "MetricsCollector", "metrics_app"]

log = logging.getLogger(__name__)

# Seconds: 1 min, 15 min, 1 h, 4 h, 8 h, 1 day, 2 days, 3 days, a week.
FIRST_RESPONSE_BUCKETS = (60, 900, 3600, 14400, 28800, 86400, 172800, 259200, 604800)


class MetricsCollector(Collector):
    """Builds the RRM metrics at each scrape."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        send_failures: Mapping[str, int],
        backlog: Callable[[], int],
        undecryptable: Callable[[], Mapping[str, int]] = dict,
    ) -> None:
        self._sessions = sessions
        self._send_failures = send_failures
        self._backlog = backlog
        self._undecryptable = undecryptable

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        """Yield every metric family (called by prometheus_client at each scrape)."""
        with self._sessions() as session:
            by_status = metrics_repo.questions_by_status(session)
            by_outbox = metrics_repo.outbox_by_status(session)
            response = metrics_repo.first_response_histogram(session, FIRST_RESPONSE_BUCKETS)
        questions = GaugeMetricFamily(
            "rrm_questions", "Questions by outcome (status)", labels=["outcome"]
        )
        for known in QuestionStatus:
            questions.add_metric([known], by_status.pop(known, 0))
        for other, count in by_status.items():
            questions.add_metric([other], count)
        yield questions
        backlog = GaugeMetricFamily(
            "rrm_outbox_backlog", "Outbox messages by state", labels=["state"]
        )
        for state in (OutboxStatus.PENDING, OutboxStatus.FAILED):
            backlog.add_metric([state], by_outbox.get(state, 0))
        yield backlog
        yield GaugeMetricFamily(
            "rrm_inbound_backlog",
            "Inbound events kept in memory while the database is unreachable",
            value=self._backlog(),
        )
        failures = CounterMetricFamily(
            "rrm_send_failures", "Failed send attempts by channel", labels=["channel"]
        )
        for channel, count in sorted(self._send_failures.items()):
            failures.add_metric([channel], count)
        yield failures
        unreadable = CounterMetricFamily(
            "rrm_undecryptable_events",
            "End-to-end encrypted events the bot could not decrypt, by channel",
            labels=["channel"],
        )
        for channel, count in sorted(self._undecryptable().items()):
            unreadable.add_metric([channel], count)
        yield unreadable
        counts, total, seconds = response
        buckets = [(str(b), count) for b, count in zip(FIRST_RESPONSE_BUCKETS, counts, strict=True)]
        buckets.append(("+Inf", total))
        histogram = HistogramMetricFamily(
            "rrm_first_response_seconds", "Time from routing to the first expert answer"
        )
        histogram.add_metric([], buckets, sum_value=seconds)
        yield histogram


def metrics_app(
    sessions: sessionmaker[Session],
    send_failures: Mapping[str, int],
    backlog: Callable[[], int],
    undecryptable: Callable[[], Mapping[str, int]] = dict,
) -> Starlette:
    """The Starlette app serving ``/healthz`` and ``/metrics``."""
    registry = CollectorRegistry()
    registry.register(MetricsCollector(sessions, send_failures, backlog, undecryptable))

    def ping() -> None:
        with sessions() as session:
            metrics_repo.ping(session)

    async def healthz(_request: Request) -> Response:
        try:
            await asyncio.to_thread(ping)
        except Exception as error:
            log.warning("health check: database unreachable (%s)", type(error).__name__)
            return JSONResponse(
                {"status": "unhealthy", "database": "unreachable", "backlog": backlog()},
                status_code=503,
            )
        return JSONResponse({"status": "ok", "database": "ok", "backlog": backlog()})

    async def metrics(_request: Request) -> Response:
        body = await asyncio.to_thread(generate_latest, registry)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    return Starlette(routes=[Route("/healthz", healthz), Route("/metrics", metrics)])
