"""``qanat normalize FILE`` prints how each line is read, and reports bad lines."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from qanat.cli.main import app


def test_one_line_out_per_line_in_with_every_location_part(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps(
            {
                "text": "طفح مجاري في مجمع ٣٠٥ طريق ٤٥",
                "channel": "sms",
                "sender": {"handle": "33445566"},
            },
            ensure_ascii=False,
        )
        + "\nnot json\n"
        + json.dumps({"text": "Thank you for fixing Road 915"})
        + "\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["normalize", str(source)])
    first, bad, third = (json.loads(line) for line in result.stdout.splitlines())
    assert result.exit_code == 1
    assert first["match_text"] == "طفح مجاري في مجمع 305 طريق 45" and first["language"] == "ar"
    assert first["location"]["block"] == "305" and first["location"]["building"] is None
    assert first["location"]["confidence"]["block"] == 0.95
    assert first["identities"] == [{"kind": "phone", "value": "+97333445566"}]
    assert bad["line"] == 2 and "error" in bad
    assert third["kind"] == "compliment" and third["location"]["road"] == "915"
