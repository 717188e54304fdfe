"""The production form, exercised: both APIs under gunicorn with production settings, two relays, the
notifier worker, PostgreSQL and Redis (``devinfra.production``, what ``make production`` runs).

The README walkthrough goes through it over HTTP; the admin and the API docs render with their
static files (served by WhiteNoise) in headless Chromium, screenshots kept under
``var/test-artefacts/``; every process stops cleanly on SIGTERM, and writes made just before the
stop are all delivered after the restart.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from devinfra.production import GRACE_SECONDS, Topology
from devinfra.prometheus import PrometheusUnavailable, prometheus_binary
from tests.support import CHROMIUM_ARGS, REPO, chromium_path, unavailable, wait_for

pytestmark = pytest.mark.e2e
ARTEFACTS = REPO / "var" / "test-artefacts"


@pytest.fixture(scope="module")
def topology() -> Iterator[Topology]:
    try:
        with_prometheus = bool(prometheus_binary())
    except PrometheusUnavailable:
        with_prometheus = False  # the Prometheus test says so; the others run
    topology = Topology(with_prometheus=with_prometheus)
    try:
        topology.start()
        yield topology
    finally:
        topology.stop()


def call(method: str, url: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    """One HTTP request; the status and the decoded JSON body."""
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_the_readme_walkthrough_runs_through_the_production_form(topology):
    token, notifier_token = topology.token("projects"), topology.token("notifier")
    api = f"{topology.api_url}/api/v1"
    status, project = call(
        "POST", f"{api}/projects/", token, {"name": "shop", "notification_email": "team@example.com"}
    )
    assert status == 201, project
    status, gp = call("POST", f"{api}/generated-projects/", token, {"project": project["id"]})
    assert (status, gp["status"]) == (201, "pending")
    assert call("PATCH", f"{api}/generated-projects/{gp['id']}/", token, {"status": "generating"})[0] == 200
    files = [{"path": "README.md", "file_size": 120}, {"path": "src/main.py", "file_size": 2048}]
    assert call("POST", f"{api}/generated-projects/{gp['id']}/files/", token, files)[0] == 201
    status, done = call("PATCH", f"{api}/generated-projects/{gp['id']}/", token, {"status": "completed"})
    assert (status, done["total_files"], done["total_size"]) == (200, 2, 2168)
    status, refused = call("PATCH", f"{api}/generated-projects/{gp['id']}/", token, {"status": "pending"})
    assert (status, refused["code"]) == (409, "invalid_transition")
    export_body = {"generated_project": gp["id"], "repository_url": "https://git.example.com/shop.git"}
    status, export = call("POST", f"{api}/exports/", token, export_body)
    assert status == 201, export
    for step in ("running", "completed"):
        assert call("PATCH", f"{api}/exports/{export['id']}/", token, {"status": step})[0] == 200

    notifications_url = f"{topology.notifier_url}/api/v1/notifications/?project_id={project['id']}"

    def three_notifications() -> Any:
        page = call("GET", notifications_url, notifier_token)[1]
        return page if page["count"] == 3 else None

    notified = wait_for(three_notifications, timeout=60, what="three notifications through the production notifier API")
    assert [n["event_type"] for n in notified["results"]] == [
        "export.completed", "generation.completed", "generation.started",
    ]  # fmt: skip
    sink = topology.smtp
    assert sink is not None
    wait_for(lambda: len(sink.messages) >= 3, timeout=60, what="three e-mails to the topology's SMTP sink")
    assert sorted(m["Subject"] for m in sink.messages[:3]) == [
        "Export completed for shop", "Generation completed for shop", "Generation started for shop",
    ]  # fmt: skip
    kept = sorted((topology.root / "mail").glob("*.eml"))
    assert len(kept) >= 3 and b"Subject: " in kept[0].read_bytes()  # readable in the mailbox folder
    # every line of the API's output is a JSON object (LOG_FORMAT's default): gunicorn's and the application's
    # (with a level and a logger), and the access log's, with the correlation id the API echoed
    lines = [json.loads(line) for line in topology.log_path("api").read_text().splitlines() if line.strip()]
    assert any(line.get("logger") == "gunicorn.error" for line in lines)
    access = [line for line in lines if "logger" not in line]
    writes = [entry for entry in access if entry["method"] in ("POST", "PATCH")]
    assert len(writes) >= 8 and all(entry["correlation_id"] not in ("", "-") for entry in writes)
    assert {entry["status"] for entry in writes} >= {200, 201, 409}


@pytest.mark.parametrize("service", ["projects", "notifier"])
def test_health_and_readiness_answer_under_gunicorn(topology, service):
    base = topology.api_url if service == "projects" else topology.notifier_url
    for path in ("/healthz", "/readyz"):
        status, body = call("GET", base + path)
        assert status == 200 and isinstance(body, dict), (path, body)


def test_the_admin_and_the_api_docs_render_with_their_static_files(topology):
    from playwright.sync_api import sync_playwright

    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            statics: list[tuple[str, int]] = []
            page.on("response", lambda r: statics.append((r.url, r.status)) if "/static/" in r.url else None)
            for name, url in (("projects-admin-login", f"{topology.api_url}/admin/login/"),
                              ("notifier-admin-login", f"{topology.notifier_url}/admin/login/")):  # fmt: skip
                page.goto(url)
                page.wait_for_load_state("networkidle")
                # styled: the admin's stylesheet gives the header its colour and the login form its width
                header = page.eval_on_selector("#header", "e => getComputedStyle(e).backgroundColor")
                assert header not in ("rgba(0, 0, 0, 0)", "transparent"), header
                assert page.eval_on_selector("#content-main", "e => e.getBoundingClientRect().width") < 600
                page.screenshot(path=str(ARTEFACTS / f"{name}.png"))
            for name, url in (("projects-api-docs", topology.api_url), ("notifier-api-docs", topology.notifier_url)):
                page.goto(f"{url}/api/docs/")
                page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)  # the UI's JS ran, read the schema
                page.screenshot(path=str(ARTEFACTS / f"{name}.png"))
        finally:
            browser.close()
    assert statics and all(status == 200 for _, status in statics), statics
    hashed = [url for url, _ in statics if url.endswith(".css")]
    assert hashed and all(len(url.rsplit("/", 1)[1].split(".")) == 3 for url in hashed), hashed  # name.hash.css
    assert all((ARTEFACTS / f"{name}.png").stat().st_size > 10_000 for name in
               ("projects-admin-login", "notifier-admin-login", "projects-api-docs", "notifier-api-docs"))  # fmt: skip


def test_prometheus_scrapes_every_process_and_an_alert_fires_when_the_relays_stop(topology):
    prometheus = topology.prometheus
    if prometheus is None:
        unavailable(
            "prometheus is not installed (Debian: apt-get install prometheus); make test installs it when run as root"
        )
    wait_for(lambda: prometheus.value('sum(up{job="outbox-relay"})') == 2, timeout=30, what="both relays scraped")
    wait_for(lambda: prometheus.value('sum(up{job="notifier"})') == 1, timeout=30, what="the notifier scraped")
    wait_for(lambda: prometheus.value('sum(up{job="notifier-worker"})') == 1, timeout=30, what="the worker scraped")
    wait_for(lambda: prometheus.value('sum(up{job="notifier-deliveries"})') == 1, timeout=30,
             what="the delivery worker scraped")  # fmt: skip
    wait_for(lambda: prometheus.value('sum(up{job="projects-api"})') == 1, timeout=30, what="the projects API scraped")
    # both APIs' requests by view, method and status, summed over their gunicorn workers
    responses = "django_http_responses_total_by_status_view_method_total"
    assert prometheus.value(f'sum({responses}{{job="projects-api", method="POST", status="201"}})') >= 3
    assert prometheus.value(f'sum({responses}{{job="notifier", view="notification-list", status="200"}})') >= 1
    assert prometheus.value('sum(django_http_requests_latency_seconds_by_view_method_count{job="projects-api"})') >= 3
    # the walkthrough's events, e-mails and group commits, summed over the worker's two processes (a message
    # whose event came before the one ahead of it counts as waiting: it takes effect when that one arrives)
    assert prometheus.value('sum(notifier_events_total{outcome=~"processed|waiting"})') >= 3
    assert prometheus.value("sum(notifier_event_lag_seconds_count)") >= 3
    assert prometheus.value('sum(notifier_deliveries_total{channel="email", outcome="delivered"})') >= 3
    assert prometheus.value("sum(notifier_delivery_attempts_count)") >= 3
    assert prometheus.value("sum(notifier_intake_batch_size_sum)") >= 3
    before = prometheus.value("sum(outbox_published_total)") or 0.0
    token = topology.token("projects")
    _, project = call("POST", f"{topology.api_url}/api/v1/projects/", token, {"name": "scraped"})
    assert call("POST", f"{topology.api_url}/api/v1/generated-projects/", token, {"project": project["id"]})[0] == 201
    wait_for(lambda: (prometheus.value("sum(outbox_published_total)") or 0.0) >= before + 1, timeout=30,
             what="the relays' published counter moves with a REST write")  # fmt: skip
    assert prometheus.value("sum(outbox_publish_lag_seconds_count)") >= before + 1
    assert prometheus.value('max(notifier_held_messages{kind="poison"})') == 0
    assert prometheus.value("max(outbox_oldest_pending_age_seconds)") is not None
    assert "OutboxRelaysDown" not in prometheus.alerts()

    stopped = topology.terminate(names=["relay-1", "relay-2"])
    assert {code for code, _ in stopped.values()} == {0}, stopped
    call("POST", f"{topology.api_url}/api/v1/generated-projects/", token, {"project": project["id"]})  # pending now
    wait_for(lambda: prometheus.alerts().get("OutboxRelaysDown") == "firing", timeout=90,
             what="OutboxRelaysDown firing 30 s after the relays stopped")  # fmt: skip
    pending = rows(topology.projects_env["DATABASE_URL"], "SELECT count(*) FROM outbox_event WHERE state = 'pending'")
    assert pending[0][0] >= 1  # what the relays, when back, publish

    topology.start_processes(["relay-1", "relay-2"])
    wait_for(lambda: "OutboxRelaysDown" not in prometheus.alerts(), timeout=60, what="the alert resolved")
    wait_for(lambda: prometheus.value('sum(up{job="outbox-relay"})') == 2, timeout=30, what="relays scraped again")


def test_every_process_stops_cleanly_on_sigterm_and_a_burst_before_it_is_delivered(topology):
    token = topology.token("projects")
    api = f"{topology.api_url}/api/v1"
    _, project = call("POST", f"{api}/projects/", token, {"name": "burst"})
    for _ in range(40):
        status, gp = call("POST", f"{api}/generated-projects/", token, {"project": project["id"]})
        assert status == 201
        assert call("PATCH", f"{api}/generated-projects/{gp['id']}/", token, {"status": "generating"})[0] == 200
    stopped = topology.terminate()
    assert {name: code for name, (code, _) in stopped.items()} == dict.fromkeys(stopped, 0), stopped
    assert all(seconds < GRACE_SECONDS for _, seconds in stopped.values()), stopped

    topology.start_processes()
    projects_db, notifier_db = topology.projects_env["DATABASE_URL"], topology.notifier_env["DATABASE_URL"]
    events = {str(row[0]) for row in rows(projects_db, "SELECT event_id FROM outbox_event")}
    assert len(events) >= 80
    wait_for(
        lambda: {str(r[0]) for r in rows(notifier_db, "SELECT event_id FROM notifier_inbox")} == events,
        timeout=60,
        what="every event committed before the stop taken in after the restart",
    )
    notified = rows(notifier_db, "SELECT count(*), count(DISTINCT event_id) FROM notifier_notification")[0]
    statuses = dict(rows(notifier_db, "SELECT status, count(*) FROM notifier_inbox GROUP BY status"))
    assert set(statuses) == {"processed", "ignored"}, statuses  # nothing waiting, held or poison
    assert notified == (statuses["processed"], statuses["processed"])  # one notification per handled event
