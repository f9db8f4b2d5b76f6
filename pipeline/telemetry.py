"""OpenTelemetry traces: one trace per run, a span per step, dbt nodes as child spans.

Exported with OTLP/HTTP (protobuf) when OTEL_EXPORTER_OTLP_ENDPOINT is set (SigNoz listens on
:4318; the SDK's `/v1/traces` is appended to a base URL), with OTEL_EXPORTER_OTLP_HEADERS for
e.g. `signoz-ingestion-key=...`. Both may also be written with the DATAWIZ_ prefix or in .env.
Without an endpoint there is no tracer at all (no-op). OTEL_SERVICE_NAME defaults to datawiz.

Span names: `<pipeline> pipeline` (the root: `morning pipeline`), the step name
(`load-morning`, `dbt-morning`, `constants`), and the dbt node's unique_id under the dbt step
(`model.datawiz.fct_secondary_sales`), timed from dbt's run_results.json. Attributes:
datawiz.run_id, datawiz.pipeline, datawiz.window, datawiz.target, datawiz.step.status,
datawiz.step.rows, datawiz.step.attempts, and dbt.status / dbt.rows_affected on dbt nodes.

A tracing backend that is down costs at most EXPORT_TIMEOUT_SECONDS at the end of a run and an
error line in the log; the run's verdict does not change.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime
from urllib.parse import unquote

from loader.settings import Settings
from pipeline.redact import redact
from pipeline.runner import Observer, RunReport, Step, StepResult, Timing

log = logging.getLogger("datawiz.telemetry")

EXPORT_TIMEOUT_SECONDS = 5
TRACES_PATH = "v1/traces"


def traces_url(endpoint: str) -> str:
    """OTEL_EXPORTER_OTLP_ENDPOINT is a base URL: the signal path is appended (OTel spec)."""
    endpoint = endpoint.strip()
    if endpoint.rstrip("/").endswith("/" + TRACES_PATH):
        return endpoint
    return endpoint.rstrip("/") + "/" + TRACES_PATH


def parse_headers(text: str) -> dict[str, str]:
    """`k=v,k2=v2` (values percent-encoded), as in OTEL_EXPORTER_OTLP_HEADERS."""
    headers: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            headers[key.strip().lower()] = unquote(value.strip())
    return headers


def _ns(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1e9) if value else None


def dbt_node_timings(nodes: list[dict]) -> list[Timing]:
    """dbt's run_results.json nodes -> Timing (compile start .. execute end) per node."""
    timings: list[Timing] = []
    for node in nodes:
        phases = [t for t in node.get("timing") or [] if t.get("started_at")]
        if not phases:
            continue  # skipped nodes have no timing
        try:
            start = min(datetime.fromisoformat(t["started_at"]) for t in phases)
            end = max(datetime.fromisoformat(t["completed_at"]) for t in phases)
        except (KeyError, TypeError, ValueError):
            continue
        attributes: dict[str, str | int | float | bool] = {
            "dbt.unique_id": node.get("unique_id", ""),
            "dbt.status": str(node.get("status", "")),
            "dbt.execution_time": float(node.get("execution_time") or 0.0),
        }
        rows = (node.get("adapter_response") or {}).get("rows_affected")
        if isinstance(rows, int):
            attributes["dbt.rows_affected"] = rows
        timings.append(Timing(node.get("unique_id", "dbt node"), start, end, attributes))
    return timings


class Tracing(Observer):
    """Turns a run into a trace (see the module docstring). `exporter` is for tests (e.g. the
    SDK's InMemorySpanExporter); by default spans go to the OTLP/HTTP endpoint."""

    def __init__(self, settings: Settings, exporter=None):
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self.settings = settings
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(
                endpoint=traces_url(settings.otel_exporter_otlp_endpoint),
                headers=parse_headers(settings.otel_exporter_otlp_headers),
                timeout=EXPORT_TIMEOUT_SECONDS,
            )
        attributes = {"host.name": socket.gethostname()}
        if not os.environ.get("OTEL_SERVICE_NAME"):
            attributes["service.name"] = "datawiz"
        self.provider = TracerProvider(resource=Resource.create(attributes))
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("datawiz.pipeline")
        self.root = None
        self.spans: dict[str, object] = {}
        self.common: dict[str, str] = {"datawiz.target": settings.target}

    @property
    def trace_id(self) -> str:
        return format(self.root.get_span_context().trace_id, "032x") if self.root else ""

    def run_started(self, report: RunReport) -> None:
        self.common.update({"datawiz.run_id": report.run_id, "datawiz.pipeline": report.pipeline})
        self.root = self.tracer.start_span(
            f"{report.pipeline} pipeline",
            attributes=self.common,
            start_time=_ns(report.started_at),
        )

    def step_started(self, step: Step) -> None:
        from opentelemetry import trace

        attributes = {
            **self.common,
            "datawiz.window": step.window or self.common["datawiz.pipeline"],
        }
        self.spans[step.name] = self.tracer.start_span(
            step.name, context=trace.set_span_in_context(self.root), attributes=attributes
        )

    def step_finished(self, step: Step, result: StepResult) -> None:
        from opentelemetry import trace
        from opentelemetry.trace import Status, StatusCode

        span = self.spans.pop(step.name, None)
        if span is None:
            return
        span.set_attribute("datawiz.step.status", result.status)
        span.set_attribute("datawiz.step.attempts", result.attempts)
        span.set_attribute("datawiz.step.seconds", round(result.seconds, 3))
        if result.rows is not None:
            span.set_attribute("datawiz.step.rows", result.rows)
        if result.status == "failed":
            span.set_status(Status(StatusCode.ERROR, redact(result.detail, self.settings)[:300]))
        parent = trace.set_span_in_context(span)
        for child in result.children:
            node = self.tracer.start_span(
                child.name,
                context=parent,
                attributes=child.attributes,
                start_time=_ns(child.started_at),
            )
            if child.attributes.get("dbt.status") in ("error", "fail", "runtime error"):
                node.set_status(Status(StatusCode.ERROR))
            node.end(end_time=_ns(child.finished_at))
        span.end()

    def run_finished(self, report: RunReport) -> None:
        from opentelemetry.trace import Status, StatusCode

        if self.root is not None:
            self.root.set_attribute("datawiz.status", report.status)
            self.root.set_attribute("datawiz.rows", report.rows)
            if report.status == "failed":
                failed = ", ".join(r.name for r in report.results if r.status == "failed")
                self.root.set_status(Status(StatusCode.ERROR, f"failed: {failed}"))
            self.root.end(end_time=_ns(report.finished_at))
        if not self.provider.force_flush(timeout_millis=EXPORT_TIMEOUT_SECONDS * 2000):
            log.error("traces of run %s not exported in time", report.run_id)
        self.provider.shutdown()


def tracing_for(settings: Settings) -> Tracing | None:
    """The tracing observer when an OTLP endpoint is configured, else None (no-op)."""
    if not settings.otel_exporter_otlp_endpoint:
        return None
    return Tracing(settings)
