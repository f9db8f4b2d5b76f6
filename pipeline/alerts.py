"""E-mail alerts: one message when a run fails (or also when it ends with warnings, or always:
DATAWIZ_ALERT_ON), rendered from the Jinja2 templates in pipeline/templates/ and sent with
smtplib (DATAWIZ_SMTP_HOST/PORT/USER/PASSWORD/FROM, DATAWIZ_SMTP_TLS starttls|ssl|none,
DATAWIZ_ALERT_TO comma-separated).

An alert is a side effect of a run, never a reason for it to fail: when the mail server is
down the run's verdict and exit code stay what they were, and the failure is logged. Subject
and body pass through redact, so no configured secret can reach a mailbox.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import jinja2

from loader.errors import TerminalError
from loader.settings import Settings
from pipeline.redact import redact
from pipeline.runner import Observer, RunReport, one_line

log = logging.getLogger("datawiz.alerts")

TEMPLATES = Path(__file__).resolve().parent / "templates"
ALERT_ON = ("failure", "warning", "always", "never")
SMTP_TLS = ("starttls", "ssl", "none")
SMTP_TIMEOUT_SECONDS = 20


def check_settings(settings: Settings) -> None:
    """Refuse unknown values at start-up (exit 2), not when the first alert is due."""
    if settings.alert_on not in ALERT_ON:
        raise TerminalError(
            f"DATAWIZ_ALERT_ON must be one of {', '.join(ALERT_ON)}, got {settings.alert_on!r}"
        )
    if settings.smtp_tls not in SMTP_TLS:
        raise TerminalError(
            f"DATAWIZ_SMTP_TLS must be one of {', '.join(SMTP_TLS)}, got {settings.smtp_tls!r}"
        )


def recipients(settings: Settings) -> list[str]:
    return [a.strip() for a in settings.alert_to.replace(";", ",").split(",") if a.strip()]


def configured(settings: Settings) -> bool:
    return bool(settings.smtp_host and recipients(settings)) and settings.alert_on != "never"


def should_alert(status: str, alert_on: str) -> bool:
    """status: failed | warn | ok (RunReport.status)."""
    return {
        "failure": status == "failed",
        "warning": status in ("failed", "warn"),
        "always": True,
        "never": False,
    }[alert_on]


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,  # text/plain mail, not HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "?"


def render(
    report: RunReport,
    settings: Settings,
    *,
    rerun: str,
    host: str | None = None,
    tracing: bool = False,
) -> tuple[str, str]:
    """(subject, body) of the alert for a finished run."""
    problems = [
        {
            "name": r.name,
            "status": r.status,
            "attempts": r.attempts,
            "seconds": r.seconds,
            # dbt failures come as "a | b | c": one per line reads better in a mail
            "parts": [p.strip() for p in one_line(r.detail, 6000).split(" | ") if p.strip()],
        }
        for r in report.results
        if r.status in ("failed", "warn")
    ]
    context = {
        "pipeline": report.pipeline,
        "status": report.status,
        "host": host or socket.gethostname(),
        "run_id": report.run_id or "-",
        "target": settings.target,
        "source": settings.source,
        "started": _when(report.started_at),
        "finished": _when(report.finished_at),
        "seconds": report.seconds,
        "lines": [r.line() for r in report.results],
        "problems": problems,
        "failed": [r.name for r in report.results if r.status == "failed"],
        "warned": [r.name for r in report.results if r.status == "warn"],
        "skipped": [
            r.name for r in report.results if r.status == "skipped" and report.status == "failed"
        ],
        "rerun": rerun,
        "tracing": tracing,
        "alert_on": settings.alert_on,
    }
    env = _environment()
    subject = env.get_template("alert_subject.txt.j2").render(context)
    body = env.get_template("alert_body.txt.j2").render(context)
    subject = " ".join(subject.split())  # one header line, whatever the template does
    return redact(subject, settings), redact(body, settings)


def build_message(subject: str, body: str, settings: Settings, run_id: str = "") -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.smtp_from
    msg["To"] = ", ".join(recipients(settings))
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    if run_id:
        msg["X-DataWiz-Run-Id"] = run_id
    msg.set_content(body)
    return msg


def tls_context() -> ssl.SSLContext:
    """The TLS context for STARTTLS/SSL: the system's trusted CAs, hostname checked."""
    return ssl.create_default_context()


def send(msg: EmailMessage, settings: Settings) -> None:
    """Send one message; raises smtplib.SMTPException or OSError when it cannot."""
    host, port = settings.smtp_host, settings.smtp_port
    if settings.smtp_tls == "ssl":
        client = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT_SECONDS, context=tls_context())
    else:
        client = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        client.ehlo()
        if settings.smtp_tls == "starttls":
            client.starttls(context=tls_context())
            client.ehlo()
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password)
        client.send_message(msg)


class EmailAlerts(Observer):
    """Sends the alert when a run finishes (see the module docstring)."""

    def __init__(self, settings: Settings, rerun: str, tracing: bool = False):
        self.settings = settings
        self.rerun = rerun
        self.tracing = tracing
        self.sent = False

    def run_finished(self, report: RunReport) -> None:
        if not configured(self.settings) or not should_alert(report.status, self.settings.alert_on):
            return
        try:
            subject, body = render(report, self.settings, rerun=self.rerun, tracing=self.tracing)
            send(build_message(subject, body, self.settings, report.run_id), self.settings)
        except (smtplib.SMTPException, OSError, jinja2.TemplateError) as exc:
            log.error(
                "alert e-mail to %s via %s:%s not sent: %s",
                ", ".join(recipients(self.settings)),
                self.settings.smtp_host,
                self.settings.smtp_port,
                redact(f"{type(exc).__name__}: {exc}", self.settings),
            )
            return
        self.sent = True
        log.info("alert e-mail sent to %s: %s", ", ".join(recipients(self.settings)), subject)
