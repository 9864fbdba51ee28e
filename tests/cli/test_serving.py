"""``qanat serve`` as a real process: request log lines, and whose forwarded address to
believe (``--forwarded-allow-ips``)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from qanat.config import Settings
from qanat.web.auth import LOGIN_COOKIE


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(
    home: Path, *options: str, env_extra: dict[str, str] | None = None
) -> Iterator[tuple[str, Path]]:
    """``qanat serve`` on a free port with ``home`` as its data folder; yields its URL and
    the file its log goes to."""
    port, log = free_port(), home / f"serve-{time.monotonic_ns()}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QANAT_")}
    env |= {"QANAT_HOME": str(home), "QANAT_LOG_LEVEL": "INFO", **(env_extra or {})}
    home.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "qanat", "serve", "--port", str(port), *options],
            env=env,
            stdout=handle,
            stderr=handle,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a speed check
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield base, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def failed_login_from(base: str, forwarded_for: str) -> None:
    with httpx.Client(base_url=base) as client:
        client.get("/login")
        token = client.cookies[LOGIN_COOKIE]
        answer = client.post(
            "/login",
            data={"username": "nobody", "password": "wrong", "csrf_token": token},
            headers={"X-Forwarded-For": forwarded_for},
        )
    assert answer.status_code == 401


def addresses_seen(home: Path) -> list[str]:
    with sqlite3.connect(home / "qanat.db") as database:
        return [ip for (ip,) in database.execute("SELECT ip FROM login_attempt ORDER BY id")]


def test_the_proxy_named_is_believed_and_requests_are_logged_as_lines(tmp_path: Path) -> None:
    home = tmp_path / "data"
    with serving(home, "--forwarded-allow-ips", "127.0.0.1") as (base, log):
        failed_login_from(base, "203.0.113.7")
        httpx.get(f"{base}/report/status", params={"reference": "QN-2026-000001"})
    assert addresses_seen(home) == ["203.0.113.7"]  # the citizen, not the proxy
    lines = log.read_text().splitlines()
    assert any(
        line.endswith("ms") and " qanat.web.access: GET /healthz 200 " in line for line in lines
    )
    assert any(" qanat.web.access: POST /login 401 " in line for line in lines)
    assert any(" qanat.web.access: GET /report/status 200 " in line for line in lines)
    assert "QN-2026-000001" not in log.read_text()  # no query string in the log


def test_forwarded_headers_from_anyone_else_are_ignored_and_json_logs_on_request(
    tmp_path: Path,
) -> None:
    home = tmp_path / "data"
    with serving(home, "--forwarded-allow-ips", "10.0.0.9", "--log-format", "json") as (base, log):
        failed_login_from(base, "203.0.113.7")
    assert addresses_seen(home) == ["127.0.0.1"]  # a client cannot claim an address
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(
        e["logger"] == "qanat.web.access" and e["event"].startswith("POST /login 401")
        for e in entries
    )


def test_several_worker_processes_serve_one_port_without_a_line_per_request(
    tmp_path: Path, postgres_url: str
) -> None:
    home = tmp_path / "data"
    env = {"QANAT_DATABASE_URL": postgres_url}
    with serving(home, "--workers", "2", "--no-access-log", env_extra=env) as (base, log):
        for _ in range(20):
            assert httpx.get(f"{base}/healthz").status_code == 200
    text = log.read_text()
    assert text.count("Started server process") == 2, text
    assert "GET /healthz" not in text  # only requests that fail are logged


def test_several_workers_need_postgresql(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QANAT_")}
    answer = subprocess.run(
        [sys.executable, "-m", "qanat", "serve", "--workers", "2"],
        env=env | {"QANAT_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode == 2
    assert "needs PostgreSQL" in answer.stdout + answer.stderr


def test_a_worker_yields_the_cpu_to_what_shares_its_machine() -> None:
    # In a process of its own: niceness only ever goes up.
    script = (
        "import os; from qanat.cli.serving import yield_cpu; before = os.nice(0); "
        "yield_cpu(0); same = os.nice(0); yield_cpu(7); print(same - before, os.nice(0) - before)"
    )
    command = [sys.executable, "-c", script]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "7"]
    assert Settings.model_fields["worker_nice"].default == 10
