"""Training a body's pair model: weights learned from labelled pairs (text never counting
against a link), thresholds chosen on held-out folds, a file qanat reads again."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qanat.cli.main import app
from qanat.dedupe.pair_model import FEATURES, MONOTONE, TRAINING_PAIRS, PairModel, PairModelFile
from qanat.dedupe.training import Example, choose_thresholds, train

T = 0.0


def evidence(where: str, work: str, text: float, **more: object) -> dict[str, object]:
    return {"where": where, "work": work, "text": text, "text_set": text, "text_sort": text,
            "words": 5, "hours_apart": 1.0, "placeless": False, **more}  # fmt: skip


def examples() -> list[Example]:
    """Street pairs: the same category is one problem; another category with other words is
    not; text decides in the block."""
    made = []
    for n in range(12):
        made.append(Example(evidence("street", "same", 30 + n * 5), 1))
        made.append(Example(evidence("street", "kin", 10 + n), 0))
        made.append(Example(evidence("block", "same", 60 + n * 3), 1))
        made.append(Example(evidence("block", "same", 5 + n * 2), 0))
    return made


def test_a_model_learns_what_labelled_pairs_say_and_never_counts_text_against() -> None:
    model = train(examples(), source="test")
    weights = dict(zip(FEATURES, model.weights, strict=True))
    assert all(weights[name] >= 0 for name in MONOTONE)
    assert weights["work=same"] > weights["work=kin"]
    assert 0 < model.suggest_threshold <= model.link_threshold <= 100
    assert model.trained["pairs"] == len(examples()) and model.trained["out_of_fold"]["auc"] > 0.8


def test_thresholds_link_only_where_precision_holds() -> None:
    scores = [95, 90, 85, 80, 70, 60, 50, 45]
    labels = [1, 1, 1, 0, 1, 1, 0, 1]
    link, suggest = choose_thresholds(scores, labels)
    assert link == 81.0  # from 81 up every pair is a duplicate; at 80, one in four is not
    assert suggest <= 50.0  # nine in ten duplicates are at or above it


def test_a_model_file_round_trips_and_refuses_what_it_is_not(tmp_path: Path) -> None:
    model = train(examples(), source="test")
    path = tmp_path / "dedupe-model.json"
    model.save(path)
    assert PairModel.load(path) == model
    data = json.loads(path.read_text())
    data["weights"][0] = -1.0  # a text weight under zero would break the index's pruning
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="must not be negative"):
        PairModel.load(path)


def test_the_model_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "dedupe-model.json"
    watched = PairModelFile(path)
    assert watched.current() is None  # no file: the table
    model = train(examples(), source="test")
    model.save(path)
    assert watched.current() == model
    path.write_text("not json")
    os.utime(path, (1, 1))
    assert watched.current() == model  # an unreadable file keeps the last good model


def test_train_then_eval_and_score_with_the_model(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "model.json"
    trained = runner.invoke(app, ["dedupe", "train", "--out", str(out)])
    assert trained.exit_code == 0, trained.output
    assert "held-out folds: precision" in trained.stdout and out.exists()
    model = PairModel.load(out)
    assert model.trained["pairs"] == len(TRAINING_PAIRS.read_text().splitlines())
    evaluated = runner.invoke(
        app, ["dedupe", "eval", str(TRAINING_PAIRS), "--model", str(out), "--json"]
    )
    figures = json.loads(evaluated.stdout)
    assert figures["linked"]["precision"] >= figures["linked_or_suggested"]["precision"]
    assert figures["linked_or_suggested"]["recall"] >= figures["linked"]["recall"]
    assert figures["auc"] > 0.85
    scored = runner.invoke(app, ["dedupe", "score", str(TRAINING_PAIRS), "--model", str(out)])
    bands = {json.loads(line)["band"] for line in scored.stdout.splitlines()}
    assert bands <= {"link", "suggest", "none"} and "link" in bands
    missing = runner.invoke(app, ["dedupe", "score", str(TRAINING_PAIRS), "--model", "nope"])
    assert missing.exit_code == 2


def test_replay_compares_links_with_a_bodys_own_labels() -> None:
    stream = Path(__file__).parent.parent / "fixtures" / "dedupe" / "stream.jsonl"
    replayed = CliRunner().invoke(app, ["dedupe", "replay", str(stream), "--json"])
    assert replayed.exit_code == 0, replayed.output
    figures = json.loads(replayed.stdout)
    assert figures["requests"] == 5 and figures["labelled_duplicates"] == 1
    # R-2 repeats R-1 at the same house; R-3 is the next house, R-4 far away, R-5 another
    # problem: one link, the right one, and no false one.
    assert (figures["named_originals"], figures["named_found"]) == (1, 1)
    assert figures["links"] == 1 and figures["false_links"] == 0
