"""``qanat router train`` then ``eval``: one model location, found without a setting."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from qanat.cli.main import app

FIXTURES = Path(__file__).parents[1] / "fixtures" / "router"


def invoke(database_url: str, home: Path, *args: str) -> tuple[int, str, str]:
    # Wide enough that an error box does not break a path.
    env = {"QANAT_DATABASE_URL": database_url, "QANAT_HOME": str(home), "COLUMNS": "500"}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_train_then_eval_uses_the_model_beside_the_data(database_url: str, tmp_path: Path) -> None:
    heldout = str(FIXTURES / "ar_heldout.jsonl")
    code, out, _ = invoke(database_url, tmp_path, "router", "eval", heldout, "--json")
    before = json.loads(out)
    assert code == 0 and before["model"] is None
    code, out, _ = invoke(
        database_url, tmp_path, "router", "train", "--file", str(FIXTURES / "ar_train.jsonl")
    )
    assert code == 0 and str(tmp_path / "router-model.npz") in out
    code, out, _ = invoke(database_url, tmp_path, "router", "eval", heldout, "--json")
    after = json.loads(out)
    assert code == 0 and after["model"] == str(tmp_path / "router-model.npz")
    assert after["rules"] == "the shipped sample rules"
    # The model learned the held-out messages' departments beyond what the rules catch.
    assert after["accuracy"] > before["accuracy"]
    code, out, _ = invoke(database_url, tmp_path, "router", "eval", heldout, "--rules", "none")
    assert code == 0 and "rules: none (the model alone)" in out


def test_a_training_line_without_a_department_is_named(database_url: str, tmp_path: Path) -> None:
    wrong = tmp_path / "groups.jsonl"
    wrong.write_text('{"text": "a pothole on road 12", "group": "roads"}\n', encoding="utf-8")
    code, _, err = invoke(database_url, tmp_path, "router", "train", "--file", str(wrong))
    assert code == 2
    assert f"{wrong}:1: no 'department' key" in err
    assert not (tmp_path / "router-model.npz").exists()
