"""The learned router against TF-IDF + logistic regression, on data nobody here wrote.

    python bench/routing.py [--data DIR] [--sets sd311,arbanking77]

DIR (default ``../shared/data`` beside the checkout, or ``QANAT_BENCH_DATA``) holds
public data sets; each set is skipped, saying so, when its files are not there — qanat
ships none of them. For each set, in the same run, on the same split:

- **baseline**: scikit-learn's TF-IDF over ``char_wb`` 2–5-grams of the raw text and a
  ``LogisticRegression``, every other setting scikit-learn's default;
- **word**: TF-IDF over the raw text's words and the same logistic regression;
- **qanat**: the model ``qanat router train`` builds (:func:`train_router`, hyper-parameters
  chosen by cross-validation on the training part only), saved and loaded again, every
  test message routed through the pipeline's own function with the model alone (no
  rules), as ``qanat router eval --rules none`` routes.

Printed per model: accuracy (qanat: its first choice, a suggestion to triage included)
and macro-F1 on the test part, the margin over the baseline, training time, model file
size; for qanat also the routing time per message, and at the model's own abstain
threshold the share sent to triage and the accuracy of what it decided alone.

The sets: San Diego's "Get It Done" resident requests (English; 9 staff groups; train
on ``pool``, 1,500, measure on ``dev``, 150, which over-represents the small groups) and
ArBanking77 (Arabic customer requests, 77 intents; train on Modern Standard and
Palestinian, 21,559, measure on Saudi dialect, 3,580). ArBanking77 takes minutes (qanat
tries four C on three folds); ``--sets sd311`` is the quick run.

From another script: ``routing_report(data_dir)`` returns the same lines.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from qanat.cli.router import decide_text
from qanat.router.evaluate import EvalReport, first_choice
from qanat.router.learned import LearnedRouter, prepared
from qanat.router.rules import load_rules, model_only_rules
from qanat.router.training import Example, train_router

HERE = Path(__file__).resolve().parent


def default_data() -> Path:
    """Where the public data sets are looked for."""
    return Path(os.environ.get("QANAT_BENCH_DATA", HERE.parent.parent / "shared" / "data"))


@dataclass(frozen=True)
class Split:
    """A set's training and test parts: (text, label) pairs."""

    name: str
    train: list[tuple[str, str]]
    test: list[tuple[str, str]]


def _jsonl(path: Path) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [(str(r["text"]), str(r["group"])) for r in rows]


def _csv(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(r["text"], r["label"]) for r in csv.DictReader(handle)]


def san_diego(data: Path) -> Split | None:
    """San Diego's resident requests: only ``text`` is read (``service_*`` give it away)."""
    folder = data / "sd311"
    if not (folder / "pool.jsonl").is_file() or not (folder / "dev.jsonl").is_file():
        return None
    return Split(
        "sd311 (train pool, test dev)", _jsonl(folder / "pool.jsonl"), _jsonl(folder / "dev.jsonl")
    )


def arabic_banking(data: Path) -> Split | None:
    """ArBanking77: Modern Standard and Palestinian to train, Saudi dialect to test."""
    folder = data / "arbanking77"
    train = folder / "Banking77_Arabized_MSA_PAL_train.csv"
    test = folder / "Banking77_Arabized_Saudi_test.csv"
    if not train.is_file() or not test.is_file():
        return None
    return Split("arbanking77 (train MSA+PAL, test Saudi)", _csv(train), _csv(test))


SETS: dict[str, Callable[[Path], Split | None]] = {
    "sd311": san_diego,
    "arbanking77": arabic_banking,
}


@dataclass(frozen=True)
class Score:
    """One model's figures on one set."""

    model: str
    accuracy: float
    macro_f1: float
    train_seconds: float
    size_bytes: int | None = None
    notes: tuple[str, ...] = ()


def _scored(
    name: str, truth: list[str], guesses: list[str], seconds: float
) -> tuple[str, float, float, float]:
    return (
        name,
        float(accuracy_score(truth, guesses)),
        float(f1_score(truth, guesses, average="macro", zero_division=0)),
        seconds,
    )


def tfidf_logistic(split: Split, analyzer: str, label: str) -> Score:
    """TF-IDF (``char_wb`` 2–5 or words) on the raw text and scikit-learn's default
    logistic regression, trained and scored here."""
    started = time.perf_counter()
    ngrams = (2, 5) if analyzer == "char_wb" else (1, 1)
    vectorizer = TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams)
    texts, labels = zip(*split.train, strict=True)
    model = LogisticRegression().fit(vectorizer.fit_transform(texts), labels)
    seconds = time.perf_counter() - started
    guesses = list(model.predict(vectorizer.transform([t for t, _ in split.test])))
    name, accuracy, f1, seconds = _scored(label, [g for _, g in split.test], guesses, seconds)
    return Score(name, accuracy, f1, seconds)


def qanat_router(split: Split) -> Score:
    """qanat's model as ``qanat router train`` builds it, routed as the pipeline routes."""
    # A department's code is lower-case Latin: a set's labels are numbered.
    codes = {label: f"d{n:02d}" for n, label in enumerate(sorted({g for _, g in split.train}))}
    train = [(text, codes[label]) for text, label in split.train]
    test = [(text, codes.get(label, "unknown")) for text, label in split.test]
    started = time.perf_counter()
    built = train_router([Example(text, label) for text, label in train])
    seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "router-model.npz"
        built.save(path)
        size = path.stat().st_size
        model = LearnedRouter.load(path)
    rules = model_only_rules(model.departments)
    decisions = [decide_text(text, rules, model) for text, _ in test]
    routing = per_message(lambda text: decide_text(text, rules, model), [t for t, _ in test])
    report = EvalReport()
    for (_text, expected), decision in zip(test, decisions, strict=True):
        report.add(expected, decision)
    guesses = [first_choice(d) or "-" for d in decisions]
    figures = report.to_json()
    texts = [prepared(text) for text, _ in test]
    found = [model.scores(text) for text in texts]
    scoring = per_message(model.scores, texts)
    sure = [max(f.values()) if f else 0.0 for f in found]
    right = [
        bool(f) and max(f, key=lambda d: f[d]) == label
        for f, (_text, label) in zip(found, test, strict=True)
    ]
    facts = model.training or {}
    sample = load_rules()  # as `qanat router eval` routes with no rules file configured
    beside = EvalReport()
    for text, expected in test:
        beside.add(expected, decide_text(text, sample, model))
    notes = (
        f"at its threshold {model.threshold}: triage {1 - figures['coverage']:.1%}, accuracy "
        f"of the rest {figures['accuracy_answered']:.3f}; mean probability of the first "
        f"choice {sum(sure) / len(sure):.3f} (right: {sum(right) / len(right):.3f}), "
        f"calibration error {calibration_error(sure, right):.3f}",
        f"per message (median of 3 passes): routing {routing * 1000:.2f} ms (normalize + "
        f"route), the model "
        f"{scoring * 1000:.2f} ms; C={facts.get('c')} (CV balanced accuracy "
        f"{facts.get('cv_balanced_accuracy')}), {len(model.vocabulary):,} n-grams",
        f"beside the shipped sample rules (another body's departments): accuracy "
        f"{beside.accuracy:.3f}",
    )
    name, accuracy, f1, _ = _scored("qanat router", [g for _, g in test], guesses, seconds)
    return Score(name, accuracy, f1, seconds, size, notes)


def per_message(work: Callable[[str], object], texts: list[str], passes: int = 3) -> float:
    """Seconds per text of ``work``: the median of a few passes over every text, after
    one pass that warmed it up (a shared machine's load moves single passes)."""
    times = []
    for _ in range(passes):
        started = time.perf_counter()
        for text in texts:
            work(text)
        times.append((time.perf_counter() - started) / len(texts))
    return sorted(times)[len(times) // 2]


def calibration_error(sure: list[float], right: list[bool], bins: int = 10) -> float:
    """Expected calibration error: over ten bins of the first choice's probability, how
    far the mean probability is from the share right, weighted by the bin's size."""
    binned: dict[int, list[tuple[float, bool]]] = {}
    for probability, correct in zip(sure, right, strict=True):
        binned.setdefault(min(int(probability * bins), bins - 1), []).append((probability, correct))
    gaps = (
        abs(sum(p for p, _ in inside) - sum(r for _, r in inside)) for inside in binned.values()
    )
    return sum(gaps) / len(sure)


def _size(size: int | None) -> str:
    return "-" if size is None else f"{size / 1e6:.1f} MB"


def set_report(split: Split) -> list[str]:
    """Every model on one set, as printable lines (the baseline first)."""
    baseline = tfidf_logistic(split, "char_wb", "baseline: TF-IDF char_wb 2-5 + LR")
    scores = [baseline, tfidf_logistic(split, "word", "TF-IDF words + LR"), qanat_router(split)]
    lines = [
        f"{split.name}: train {len(split.train):,}, test {len(split.test):,}, "
        f"{len({label for _, label in split.train})} labels",
        f"  {'model':36} {'accuracy':>8} {'macro-F1':>8} {'margin':>7} {'train':>7} {'file':>8}",
    ]
    for score in scores:
        lines.append(
            f"  {score.model:36} {score.accuracy:8.3f} {score.macro_f1:8.3f} "
            f"{score.accuracy - baseline.accuracy:+7.3f} {score.train_seconds:6.1f}s "
            f"{_size(score.size_bytes):>8}"
        )
        lines += [f"    {note}" for note in score.notes]
    return lines


def report_lines(data_dir: Path, sets: list[str] | None = None) -> Iterator[str]:
    """The lines of :func:`routing_report`, each as soon as it is measured."""
    for key in sets or list(SETS):
        split = SETS[key](data_dir)
        if split is None:
            yield f"{key}: skipped, its files are not in {data_dir / key}"
            continue
        yield from set_report(split)
        yield f"  (load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})"


def routing_report(data_dir: Path, sets: list[str] | None = None) -> list[str]:
    """The routing part of the benchmarks as printable lines: each set in ``sets`` (all
    by default) whose files are in ``data_dir``, or a line saying it was skipped."""
    return list(report_lines(data_dir, sets))


def main(argv: list[str] | None = None) -> int:
    """Run every set whose data is there."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument(
        "--sets", default=",".join(SETS), help="comma-separated: " + ", ".join(SETS)
    )
    args = parser.parse_args(argv)
    asked = [s for s in args.sets.split(",") if s]
    unknown = sorted(set(asked) - set(SETS))
    if unknown:
        parser.error(f"unknown sets: {', '.join(unknown)}")
    for line in report_lines(args.data, asked):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
