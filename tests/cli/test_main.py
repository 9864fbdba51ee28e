"""The command line: import, export and their round trip, users, the demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qanat.cli.main import app

IMPORTS = Path(__file__).parents[1] / "fixtures" / "import"


def invoke(database_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"QANAT_DATABASE_URL": database_url})
    return result.exit_code, result.stdout, result.stderr


def jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_bad_lines_are_reported_and_the_rest_imports(database_url: str) -> None:
    code, _, err = invoke(database_url, "import", str(IMPORTS / "malformed.jsonl"))
    assert code == 1
    for line, reason in (
        (2, "received_at: Input should have timezone info"),
        (3, "not JSON"),
        (4, "a line must hold one JSON object"),
        (5, "external_id: Field required"),
        (8, "not UTF-8"),
    ):
        assert f"malformed.jsonl:{line}:" in err and reason in err
    assert "2 new messages, 0 already imported, 5 bad lines." in err
    _, out, _ = invoke(database_url, "export", "tickets")
    assert len(jsonl(out)) == 2


def test_importing_twice_adds_nothing(database_url: str) -> None:
    source = str(IMPORTS / "sewage_block_305.jsonl")
    assert invoke(database_url, "import", source)[0] == 0
    _, first, _ = invoke(database_url, "export", "tickets")
    code, _, err = invoke(database_url, "import", source)
    _, second, _ = invoke(database_url, "export", "tickets")
    assert code == 0 and "0 new messages, 6 already imported" in err
    assert first == second


def test_export_tickets_has_the_documented_fields(database_url: str) -> None:
    invoke(database_url, "import", str(IMPORTS / "sewage_block_305.jsonl"))
    _, out, _ = invoke(database_url, "export", "tickets")
    rows = {row["reference"]: row for row in jsonl(out)}
    # Six messages: one duplicate (same text, other citizen), two follow-ups.
    assert sorted(rows) == [f"QN-2026-00000{n}" for n in range(1, 5)]
    first, duplicate = rows["QN-2026-000001"], rows["QN-2026-000002"]
    assert first["department"] == "sewage" and first["primary_reference"] is None
    assert duplicate["primary_reference"] == "QN-2026-000001"
    assert [m["channel"] for m in first["messages"]] == ["sms", "call_centre"]  # type: ignore[index]
    assert rows["QN-2026-000003"]["messages"] == [
        {"channel": "email", "account": "default", "external_id": "<CAF1x0y2@mail.example.bh>"},
        {"channel": "email", "account": "default", "external_id": "<CAF1x0y3@mail.example.bh>"},
    ]
    suggestion = rows["QN-2026-000004"]
    assert suggestion["kind"] == "suggestion" and suggestion["category"] == "legacy_77"
    for row in rows.values():
        assert set(row) >= {
            "reference",
            "kind",
            "status",
            "priority",
            "department",
            "category",
            "primary_reference",
            "created_at",
            "messages",
        }


def test_exported_messages_rebuild_the_same_tickets(database_url: str, tmp_path: Path) -> None:
    invoke(database_url, "import", str(IMPORTS / "sewage_block_305.jsonl"))
    exported = tmp_path / "messages.jsonl"
    assert invoke(database_url, "export", "messages", "-o", str(exported))[0] == 0
    copy_url = f"sqlite+aiosqlite:///{tmp_path / 'copy.db'}"
    assert invoke(copy_url, "import", str(exported))[0] == 0
    original = jsonl(invoke(database_url, "export", "tickets")[1])
    rebuilt = jsonl(invoke(copy_url, "export", "tickets")[1])
    assert rebuilt == original


def test_user_add_refuses_unknown_roles_and_short_passwords(database_url: str) -> None:
    code, _, err = invoke(
        database_url, "user", "add", "mariam", "--role", "king", "--password", "long-enough-pass"
    )
    assert code == 2 and "Unknown role 'king'" in err
    code, _, err = invoke(
        database_url, "user", "add", "mariam", "--role", "agent", "--password", "short"
    )
    assert code == 2 and "at least 10 characters" in err
    code, _, err = invoke(
        database_url,
        "user",
        "add",
        "mariam",
        "--role",
        "agent",
        "--department",
        "sewage",
        "--password",
        "long-enough-pass",
    )
    assert code == 0 and "Added agent 'mariam'" in err
    code, _, err = invoke(
        database_url, "user", "add", "mariam", "--role", "agent", "--password", "long-enough-pass"
    )
    assert code == 1 and "already exists" in err


def test_user_set_changes_languages_shift_absence_and_email(database_url: str) -> None:
    invoke(
        database_url, "user", "add", "mariam", "--role", "agent", "--password", "long-enough-pass"
    )
    code, _, err = invoke(
        database_url,
        *("user", "set", "mariam", "--languages", "ar", "--shift", "07:00-15:00"),
        *("--away-until", "2026-12-20T07:00", "--email", "mariam@works.example.bh"),
    )
    assert code == 0
    assert "languages ar, shift 07:00-15:00, away until 2026-12-20T07:00:00+03:00" in err
    assert "email mariam@works.example.bh" in err
    code, _, err = invoke(database_url, "user", "set", "mariam", "--back", "--shift", "")
    assert code == 0 and "shift any time, email" in err and "away" not in err
    code, _, err = invoke(database_url, "user", "set", "mariam", "--shift", "mornings")
    assert code == 1 and "HH:MM-HH:MM" in err
    code, _, err = invoke(database_url, "user", "set", "mariam", "--languages", "fr")
    assert code == 1 and "choose from ar, en" in err
    code, _, err = invoke(database_url, "user", "set", "nobody", "--languages", "en")
    assert code == 1 and "no member of staff 'nobody'" in err


def test_demo_loads_and_summarises_without_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QANAT_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    first = runner.invoke(app, ["--home", "demo", "demo", "--no-serve"])
    assert first.exit_code == 0, first.stderr
    assert "Tickets per department" in first.stderr
    assert (tmp_path / "demo" / "qanat.db").exists()
    assert (tmp_path / "demo" / "national.db").exists()  # the federated upstream's own store
    assert "(4 new requests pulled)" in first.stderr and "closed" in first.stderr
    assert "Field inspections: 6 asked for, 2 visited" in first.stderr
    again = runner.invoke(app, ["--home", "demo", "demo", "--no-serve"])
    assert again.exit_code == 0
    assert "Imported 0 new messages" in again.stderr
    assert "(0 new requests pulled)" in again.stderr


def test_an_unknown_channel_is_a_bad_line_and_makes_no_ticket(database_url: str) -> None:
    code, _, err = invoke(database_url, "import", str(IMPORTS / "unknown_channel.jsonl"))
    assert code == 1
    assert "unknown_channel.jsonl:1: channel: 'pigeon' is not a channel qanat knows" in err
    assert "1 new messages, 0 already imported, 1 bad lines." in err
    _, out, _ = invoke(database_url, "export", "tickets")
    assert [row["messages"][0]["channel"] for row in jsonl(out)] == ["sms"]  # type: ignore[index]


def test_reconcile_refuses_a_channel_it_does_not_know(database_url: str) -> None:
    code, _, err = invoke(database_url, "reconcile", "--channel", "nope")
    assert code == 2
    assert "--channel 'nope' is not a channel qanat knows" in err and "telegram" in err
    code, _, err = invoke(database_url, "reconcile", "--channel", "sms")
    assert code == 0 and "Nothing to reconcile on channel sms" in err


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in getattr(group, "commands", {}).items():
        found += _commands(command, (*path, name))
    return found


def test_help_shows_no_markup_of_the_source() -> None:
    from typer.main import get_command

    commands = _commands(get_command(app))
    assert len(commands) > 30
    for path in commands:
        shown = CliRunner().invoke(app, [*path, "--help"])
        assert shown.exit_code == 0, path
        assert "``" not in shown.stdout, path


def test_references_print_in_one_colour() -> None:
    from qanat.cli.common import console

    # Rich's highlighter would colour the digits of QN-2026-000031 apart from its letters.
    rendered = console.render_str("QN-2026-000031 → duplicate of QN-2026-000007")
    assert rendered.spans == []
