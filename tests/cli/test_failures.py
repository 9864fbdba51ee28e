"""What a command says when it cannot go on: one line, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine.url import make_url
from typer.testing import CliRunner

from qanat.cli.main import app


def run(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env or {})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_a_postgres_database_that_does_not_exist_gets_the_createdb_line(
    postgres_url: str,
) -> None:
    absent = make_url(postgres_url).set(database="qanat_never_created")
    url = absent.render_as_string(hide_password=False)
    for command in (["db", "upgrade"], ["open311", "key", "add", "partner"], ["export", "tickets"]):
        code, err = run(*command, env={"QANAT_DATABASE_URL": url})
        line = one_line(err)
        assert code == 1, command
        assert "database qanat_never_created does not exist: create it with createdb" in line
        assert line.endswith(" qanat_never_created")


def test_an_unreachable_server_is_named_with_its_address() -> None:
    url = "postgresql://qanat@127.0.0.1:1/qanat"  # nothing listens on port 1
    code, err = run(
        "user",
        "add",
        "mariam",
        "--role",
        "admin",
        "--password",
        "long-enough-1",
        env={"QANAT_DATABASE_URL": url},
    )
    assert code == 1
    assert one_line(err) == (
        "error: cannot reach PostgreSQL at 127.0.0.1:1: connection refused (is it running?)"
    )


def test_reading_commands_refuse_a_database_that_was_never_made(tmp_path: Path) -> None:
    home = tmp_path / "empty-home"
    for command in (["export", "tickets"], ["report", "daily"], ["open311", "key", "list"]):
        code, err = run("--home", str(home), *command, env={"QANAT_DATABASE_URL": None})
        assert code == 1, command
        assert one_line(err).startswith(f"error: no database yet at {home.resolve() / 'qanat.db'}")
    assert not (home / "qanat.db").exists()  # nothing was made by asking


def test_writing_commands_make_and_migrate_the_data_folders_database(tmp_path: Path) -> None:
    home = tmp_path / "new-home"
    code, _ = run(
        "--home", str(home), "open311", "key", "add", "partner", env={"QANAT_DATABASE_URL": None}
    )
    assert code == 0 and (home / "qanat.db").exists()
    code, _ = run("--home", str(home), "open311", "key", "list", env={"QANAT_DATABASE_URL": None})
    assert code == 0


def test_an_unexpected_error_is_one_line_with_the_debug_hint(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(session: object) -> object:
        raise KeyError("a bug")
        yield  # an async generator, as the real one

    monkeypatch.setattr("qanat.store.views.export_tickets", broken)
    code, err = run("export", "tickets", env={"QANAT_DATABASE_URL": database_url})
    assert code == 1
    assert one_line(err) == (
        "error: qanat stopped on an unexpected error (KeyError). "
        "Run the command again with --debug (qanat --debug …) to see where."
    )
    debugged = CliRunner().invoke(
        app, ["--debug", "export", "tickets"], env={"QANAT_DATABASE_URL": database_url}
    )
    assert isinstance(debugged.exception, KeyError)  # the traceback goes through


def test_a_bad_setting_names_its_variable() -> None:
    code, err = run("status", env={"QANAT_TIMEZONE": "Mars/Olympus"})
    assert code == 2
    assert "QANAT_TIMEZONE" in one_line(err)


def test_a_worker_without_redis_says_so_before_touching_the_store(tmp_path: Path) -> None:
    code, err = run(
        "--home", str(tmp_path), "worker", env={"QANAT_REDIS_URL": None, "QANAT_DATABASE_URL": None}
    )
    assert code == 2
    assert one_line(err) == (
        "error: QANAT_REDIS_URL is not set: without Redis, jobs run inline in `qanat serve`"
    )
    assert not (tmp_path / "qanat.db").exists()
