"""OpenTelemetry traces: the SDK's in-memory exporter, and a loopback OTLP/HTTP receiver."""

from __future__ import annotations

import gzip
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from loader.settings import Settings
from pipeline.runner import Step, StepOutcome, Timing, run_steps
from pipeline.telemetry import (
    Tracing,
    dbt_node_timings,
    parse_headers,
    traces_url,
    tracing_for,
)

T0 = datetime(2026, 11, 27, 6, 30, tzinfo=UTC)


def dbt_step() -> StepOutcome:
    children = [
        Timing(
            "model.datawiz.fct_secondary_sales",
            T0,
            T0 + timedelta(seconds=3),
            {"dbt.status": "success"},
        ),
        Timing(
            "test.datawiz.unique_x",
            T0 + timedelta(seconds=3),
            T0 + timedelta(seconds=4),
            {"dbt.status": "fail"},
        ),
    ]
    return StepOutcome("1 success, 1 fail", 1234, ok=False, children=children)


def steps() -> list[Step]:
    return [
        Step("load-morning", lambda: StepOutcome("loaded 2 files", 500), window="morning"),
        Step("dbt-morning", dbt_step, needs=("load-morning",), window="morning"),
        Step(
            "constants",
            lambda: StepOutcome("5 constants"),
            needs=("dbt-morning",),
            window="morning",
        ),
    ]


def test_one_trace_per_run_with_a_span_per_step():
    exporter = InMemorySpanExporter()
    tracing = Tracing(Settings(target="duckdb"), exporter=exporter)

    report = run_steps(
        "morning", steps(), echo=lambda line: None, observers=[tracing], run_id="R-7"
    )

    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {
        "morning pipeline",
        "load-morning",
        "dbt-morning",
        "constants",
        "model.datawiz.fct_secondary_sales",
        "test.datawiz.unique_x",
    }
    root = spans["morning pipeline"]
    assert root.parent is None
    assert {s.context.trace_id for s in spans.values()} == {root.context.trace_id}
    assert format(root.context.trace_id, "032x") == tracing.trace_id
    for name in ("load-morning", "dbt-morning", "constants"):
        assert spans[name].parent.span_id == root.context.span_id
    assert root.attributes["datawiz.run_id"] == "R-7"
    assert root.attributes["datawiz.status"] == "failed" == report.status
    assert root.status.status_code is StatusCode.ERROR

    load = spans["load-morning"].attributes
    assert load["datawiz.step.rows"] == 500
    assert load["datawiz.step.status"] == "ok"
    assert load["datawiz.step.attempts"] == 1
    assert load["datawiz.window"] == "morning"
    assert load["datawiz.target"] == "duckdb"
    assert spans["dbt-morning"].status.status_code is StatusCode.ERROR
    assert spans["constants"].attributes["datawiz.step.status"] == "skipped"

    model = spans["model.datawiz.fct_secondary_sales"]
    assert model.parent.span_id == spans["dbt-morning"].context.span_id
    assert model.end_time - model.start_time == 3_000_000_000  # dbt's own timing, not ours
    assert spans["test.datawiz.unique_x"].status.status_code is StatusCode.ERROR


def test_no_endpoint_means_no_tracer():
    assert tracing_for(Settings()) is None
    assert isinstance(tracing_for(Settings(otel_exporter_otlp_endpoint="http://x:4318")), Tracing)


def test_endpoint_and_headers_follow_the_otel_conventions(monkeypatch):
    assert traces_url("http://signoz:4318") == "http://signoz:4318/v1/traces"
    assert traces_url("http://signoz:4318/") == "http://signoz:4318/v1/traces"
    assert traces_url("https://c.example/v1/traces") == "https://c.example/v1/traces"
    assert parse_headers("signoz-ingestion-key=a%3Db, X-Team = data") == {
        "signoz-ingestion-key": "a=b",
        "x-team": "data",
    }
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://signoz:4318")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "signoz-ingestion-key=k")
    settings = Settings.from_env()
    assert settings.otel_exporter_otlp_endpoint == "http://signoz:4318"
    assert "signoz-ingestion-key" not in repr(settings)


def test_dbt_run_results_become_timings():
    nodes = [
        {
            "unique_id": "model.datawiz.dim_customer",
            "status": "success",
            "execution_time": 1.5,
            "adapter_response": {"rows_affected": 42},
            "timing": [
                {
                    "name": "compile",
                    "started_at": "2026-11-27T06:30:00.000000Z",
                    "completed_at": "2026-11-27T06:30:00.500000Z",
                },
                {
                    "name": "execute",
                    "started_at": "2026-11-27T06:30:00.500000Z",
                    "completed_at": "2026-11-27T06:30:02.000000Z",
                },
            ],
        },
        {"unique_id": "model.datawiz.skipped", "status": "skipped", "timing": []},
    ]
    (timing,) = dbt_node_timings(nodes)
    assert timing.name == "model.datawiz.dim_customer"
    assert timing.finished_at - timing.started_at == timedelta(seconds=2)
    assert timing.attributes["dbt.rows_affected"] == 42


class OtlpReceiver(BaseHTTPRequestHandler):
    """A tiny OTLP/HTTP collector: keeps every ExportTraceServiceRequest it is sent."""

    received: list[tuple[str, dict, ExportTraceServiceRequest]] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, request))
        payload = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def otlp_collector():
    OtlpReceiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), OtlpReceiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", OtlpReceiver.received
    server.shutdown()
    server.server_close()


def test_spans_arrive_over_otlp_http(otlp_collector):
    endpoint, received = otlp_collector
    settings = Settings(
        otel_exporter_otlp_endpoint=endpoint,
        otel_exporter_otlp_headers="signoz-ingestion-key=test-key",
    )

    run_steps(
        "morning", steps(), echo=lambda line: None, observers=[tracing_for(settings)], run_id="R-9"
    )

    assert received, "the collector got nothing"
    paths = {path for path, _, _ in received}
    assert paths == {"/v1/traces"}
    assert all(h.get("content-type") == "application/x-protobuf" for _, h, _ in received)
    assert all(h.get("signoz-ingestion-key") == "test-key" for _, h, _ in received)
    names, services, run_ids = set(), set(), set()
    for _, _, request in received:
        for resource_spans in request.resource_spans:
            for attr in resource_spans.resource.attributes:
                if attr.key == "service.name":
                    services.add(attr.value.string_value)
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    names.add(span.name)
                    for attr in span.attributes:
                        if attr.key == "datawiz.run_id":
                            run_ids.add(attr.value.string_value)
    assert {"morning pipeline", "load-morning", "dbt-morning", "constants"} <= names
    assert "model.datawiz.fct_secondary_sales" in names
    assert services == {"datawiz"} and run_ids == {"R-9"}


def test_collector_down_costs_little_and_changes_nothing(closed_port):
    settings = Settings(otel_exporter_otlp_endpoint=f"http://127.0.0.1:{closed_port}")
    started = time.monotonic()
    report = run_steps(
        "evening",
        [Step("load-evening", lambda: StepOutcome("ok", 1))],
        echo=lambda line: None,
        observers=[tracing_for(settings)],
    )
    assert report.ok
    assert time.monotonic() - started < 12
