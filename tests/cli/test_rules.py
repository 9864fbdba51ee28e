"""``qanat rules``: the YAML file in and out of the store, checked on the way in."""

from __future__ import annotations

from pathlib import Path

from qanat.router.rules import SAMPLE_RULES
from tests.cli.test_main import invoke


def test_rules_go_in_checked_and_come_out_as_yaml(database_url: str, tmp_path: Path) -> None:
    code, out, _ = invoke(database_url, "rules", "export")
    assert code == 0 and out == SAMPLE_RULES.read_text(encoding="utf-8")  # nothing saved yet
    broken = tmp_path / "broken.yaml"
    broken.write_text(out.replace("default_department: call_centre", "default_department: x"))
    code, _, err = invoke(database_url, "rules", "import", str(broken))
    assert code == 1 and f"{broken}:13: unknown department 'x'" in err
    edited = tmp_path / "edited.yaml"
    edited.write_text(out.replace("default_department: call_centre", "default_department: roads"))
    code, _, err = invoke(database_url, "rules", "import", str(edited), "--note", "roads first")
    assert code == 0 and "is in force" in err
    code, out, _ = invoke(database_url, "rules", "export")
    assert code == 0 and "default_department: roads" in out
    saved = tmp_path / "saved.yaml"
    assert invoke(database_url, "rules", "export", "--file", str(saved))[0] == 0
    assert saved.read_text() == edited.read_text()
