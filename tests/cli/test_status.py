"""``qanat status``: which data folder, database and files are used, and their state."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from qanat.cli.main import app
from qanat.store.migrate import upgrade
from qanat.store.readiness import head_revision

NO_URL: dict[str, str | None] = {"QANAT_DATABASE_URL": None, "QANAT_REDIS_URL": None}


def status(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--home", str(home), "status", *args], env=NO_URL)
    return result.exit_code, result.stdout


def test_status_follows_the_data_folder_from_nothing_to_up_to_date(tmp_path: Path) -> None:
    home = tmp_path / "data"
    code, out = status(home)
    assert code == 0
    assert f"data folder   {home.resolve()}" in out
    assert f"database      sqlite:///{home.resolve() / 'qanat.db'}" in out
    assert "not created yet" in out and "inline (QANAT_REDIS_URL unset)" in out
    assert not (home / "qanat.db").exists()  # status changes nothing

    upgrade(f"sqlite:///{home / 'qanat.db'}", "0005_public")
    code, out = status(home, "--json")
    found = json.loads(out)
    assert code == 0 and found["state"].startswith(
        f"revision 0005_public, newest {head_revision()}"
    )

    upgrade(f"sqlite:///{home / 'qanat.db'}")
    (home / "rules.yaml").write_bytes(
        (Path(__file__).parents[2] / "qanat/router/sample_rules.yaml").read_bytes()
    )
    code, out = status(home, "--json")
    found = json.loads(out)
    assert found["state"] == f"revision {head_revision()} (up to date)"
    assert found["tickets"] == found["messages"] == found["staff"] == 0
    assert found["rules"] == str((home / "rules.yaml").resolve())


def test_status_fails_on_a_database_it_cannot_reach(tmp_path: Path) -> None:
    env = {"QANAT_DATABASE_URL": "postgresql://qanat:secret@127.0.0.1:1/qanat"}
    result = CliRunner().invoke(app, ["--home", str(tmp_path), "status"], env=env)
    assert result.exit_code == 1
    assert "database      postgresql://qanat:***@127.0.0.1:1/qanat" in result.stdout
    assert "connection refused" in result.stdout and "secret" not in result.stdout


def test_verbose_says_which_database_a_command_uses(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["--home", str(tmp_path), "--verbose", "db", "upgrade"], env=NO_URL
    )
    assert result.exit_code == 0
    assert result.stderr.splitlines()[0] == (
        f"qanat: data folder {tmp_path.resolve()}, database "
        f"sqlite:///{tmp_path.resolve() / 'qanat.db'}"
    )
