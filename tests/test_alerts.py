"""E-mail alerts, sent to a real aiosmtpd SMTP server on 127.0.0.1."""

from __future__ import annotations

import logging
import socket
import ssl

import pytest

from loader.errors import TerminalError, TransientError
from loader.settings import Settings
from pipeline import alerts
from pipeline.alerts import EmailAlerts, check_settings, render, should_alert
from pipeline.runner import Step, StepOutcome, run_steps
from tests.fixtures.smtp import SMTP_PASSWORD, SMTP_USER

RERUN = "python orchestrate.py run morning --target duckdb --source data/landing"
MONGO_SECRET = "Mongo-Pass-9911"
STARROCKS_SECRET = "Starrocks-Pass-5150"
SAS_SECRET = "sv=2024&sig=Sas-Signature-3141"


def settings_for(server, **extra) -> Settings:
    values = dict(
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_tls="none",
        smtp_from="datawiz@example.com",
        alert_to="oncall@example.com, lead@example.com",
    )
    values.update(extra)
    return Settings(**values)


def failing_run(settings: Settings, observer, detail: str = "2 error | model.datawiz.fct_x: boom"):
    def dbt():
        return StepOutcome(detail, 0, ok=False)

    steps = [
        Step("load-morning", lambda: StepOutcome("listed 3 files, loaded 3", 1200)),
        Step("dbt-morning", dbt, needs=("load-morning",)),
        Step("constants", lambda: StepOutcome("5 constants"), needs=("dbt-morning",)),
    ]
    return run_steps("morning", steps, echo=lambda line: None, observers=[observer], run_id="R-42")


def test_failed_run_sends_one_mail_with_subject_and_body(smtp_server):
    settings = settings_for(smtp_server)
    observer = EmailAlerts(settings, rerun=RERUN)

    report = failing_run(settings, observer)

    assert not report.ok and observer.sent
    (mail,) = smtp_server.received
    assert mail.mail_from == "datawiz@example.com"
    assert mail.rcpt_tos == ["oncall@example.com", "lead@example.com"]
    msg = mail.message
    host = socket.gethostname()
    # a long Subject is folded on the wire; unfolding leaves the leading blank
    assert msg["Subject"].strip() == (
        f"[DataWiz] morning pipeline FAILED on {host}: dbt-morning failed (run R-42)"
    )
    assert msg["X-DataWiz-Run-Id"] == "R-42"
    body = msg.get_content()
    assert "run id     R-42" in body
    assert "load-morning       ok" in body and "1,200 rows" in body
    assert "dbt-morning: failed after 1 attempt(s)" in body
    assert "    model.datawiz.fct_x: boom" in body  # one failure per line
    assert RERUN in body and "python orchestrate.py status" in body
    assert "Skipped because an earlier step failed: constants." in body


@pytest.mark.parametrize(
    ("status", "alert_on", "expected"),
    [
        ("failed", "failure", True),
        ("warn", "failure", False),
        ("ok", "failure", False),
        ("warn", "warning", True),
        ("failed", "warning", True),
        ("ok", "warning", False),
        ("ok", "always", True),
        ("failed", "never", False),
    ],
)
def test_when_to_alert(status, alert_on, expected):
    assert should_alert(status, alert_on) is expected


def test_ok_run_sends_nothing_unless_asked(smtp_server):
    steps = [Step("load-evening", lambda: StepOutcome("ok", 1))]
    quiet = EmailAlerts(settings_for(smtp_server), rerun=RERUN)
    run_steps("evening", steps, echo=lambda line: None, observers=[quiet])
    assert smtp_server.received == [] and not quiet.sent

    always = EmailAlerts(settings_for(smtp_server, alert_on="always"), rerun=RERUN)
    run_steps("evening", steps, echo=lambda line: None, observers=[always])
    (mail,) = smtp_server.received
    assert "evening pipeline OK" in mail.message["Subject"]


def test_warnings_alert_when_configured(smtp_server):
    steps = [Step("load-morning", lambda: StepOutcome("quarantined 1 file", 5, warning=True))]
    observer = EmailAlerts(settings_for(smtp_server, alert_on="warning"), rerun=RERUN)
    report = run_steps("morning", steps, echo=lambda line: None, observers=[observer])
    assert report.ok and report.status == "warn"
    (mail,) = smtp_server.received
    assert (
        "WARN" in mail.message["Subject"] and "warnings in load-morning" in mail.message["Subject"]
    )


def test_starttls_and_login(smtp_tls_server, monkeypatch):
    trusted = ssl.create_default_context(cafile=str(smtp_tls_server.ca_file))
    monkeypatch.setattr(alerts, "tls_context", lambda: trusted)
    settings = settings_for(
        smtp_tls_server, smtp_tls="starttls", smtp_user=SMTP_USER, smtp_password=SMTP_PASSWORD
    )
    observer = EmailAlerts(settings, rerun=RERUN)

    failing_run(settings, observer)

    assert observer.sent and smtp_tls_server.logins == [SMTP_USER]
    (mail,) = smtp_tls_server.received
    assert SMTP_PASSWORD.encode() not in mail.raw


def test_no_secret_reaches_the_mailbox(smtp_server):
    settings = settings_for(
        smtp_server,
        smtp_user="mailer",
        smtp_password=SMTP_PASSWORD,
        mongo_uri=f"mongodb://app:{MONGO_SECRET}@mongo.internal:27017/",
        starrocks_password=STARROCKS_SECRET,
        azure_sas_token=SAS_SECRET,
        alert_to="oncall@example.com",
    )
    # a step whose error text quotes secrets (the worst case: a library echoing its input)
    detail = (
        f"cannot connect to mongodb://app:{MONGO_SECRET}@mongo.internal:27017/ | "
        f"login failed with password {STARROCKS_SECRET} | url ?{SAS_SECRET}"
    )
    # smtp_user is set but the relay does not offer AUTH: send without logging in
    settings = Settings(**{**settings.__dict__, "smtp_user": ""})
    observer = EmailAlerts(settings, rerun=RERUN)

    failing_run(settings, observer, detail=detail)

    (mail,) = smtp_server.received
    raw = mail.raw.decode()
    # on the wire and decoded (quoted-printable could split a secret over a soft line break)
    texts = [raw, mail.message["Subject"], mail.message.get_content()]
    for secret in (MONGO_SECRET, STARROCKS_SECRET, "Sas-Signature-3141", SMTP_PASSWORD):
        for text in texts:
            assert secret not in text
    assert "mongodb://app:***@mongo.internal:27017/" in mail.message.get_content()


def test_smtp_outage_does_not_crash_the_pipeline(closed_port, caplog):
    settings = Settings(
        smtp_host="127.0.0.1", smtp_port=closed_port, smtp_tls="none", alert_to="oncall@x.org"
    )
    observer = EmailAlerts(settings, rerun=RERUN)

    report = failing_run(settings, observer)

    assert [r.status for r in report.results] == ["ok", "failed", "skipped"]
    assert not observer.sent
    assert f"alert e-mail to oncall@x.org via 127.0.0.1:{closed_port} not sent" in caplog.text
    assert "ConnectionRefusedError" in caplog.text


def test_starttls_refused_by_server_is_logged(smtp_server, caplog):
    settings = settings_for(smtp_server, smtp_tls="starttls")
    observer = EmailAlerts(settings, rerun=RERUN)
    caplog.set_level(logging.ERROR)

    report = failing_run(settings, observer)

    assert not report.ok and not observer.sent and smtp_server.received == []
    assert "STARTTLS extension not supported" in caplog.text


def test_alert_needs_host_and_recipients(smtp_server):
    settings = settings_for(smtp_server, alert_to="")
    observer = EmailAlerts(settings, rerun=RERUN)
    failing_run(settings, observer)
    assert smtp_server.received == [] and not observer.sent


def test_bad_settings_are_refused():
    with pytest.raises(TerminalError, match="DATAWIZ_ALERT_ON"):
        check_settings(Settings(alert_on="sometimes"))
    with pytest.raises(TerminalError, match="DATAWIZ_SMTP_TLS"):
        check_settings(Settings(smtp_tls="tls1.0"))


def test_subject_is_one_line_and_names_transient_failures():
    def flaky():
        raise TransientError("timed out\nafter 3 tries")

    report = run_steps(
        "evening", [Step("load-evening", flaky)], echo=lambda line: None, run_id="R-1"
    )
    subject, body = render(report, Settings(), rerun=RERUN, host="etl01")
    assert subject == "[DataWiz] evening pipeline FAILED on etl01: load-evening failed (run R-1)"
    assert "\n" not in subject
    assert "transient error after 1 attempt(s): timed out" in body
