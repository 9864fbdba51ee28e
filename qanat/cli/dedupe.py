"""``qanat dedupe score | eval | calibrate | train | replay | pairs | sweep``: how a body
measures, tunes and teaches duplicate detection."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select
from sqlmodel import col

from qanat.config import Settings
from qanat.dedupe.calibrate import (
    CATEGORY_EACH,
    CATEGORY_PAIRS,
    CategoryThresholds,
    calibrate,
    per_category,
)
from qanat.dedupe.pair_model import PairModel
from qanat.dedupe.pairs import Pair, pair_evidence, read_pairs
from qanat.dedupe.replay import Label, primaries, split_stream, tally
from qanat.dedupe.replay import Tally as ReplayTally
from qanat.dedupe.similarity import combined_score
from qanat.errors import ConfigError
from qanat.router.rules import RoutingRules

app = typer.Typer(
    help="Duplicate detection: score, evaluate, calibrate, train, export corrections, sweep.",
    no_args_is_help=True,
)
PairsFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False)]
RulesOption = Annotated[Path | None, typer.Option("--rules", help="Rules file (default: settings)")]


ModelOption = Annotated[
    Path | None, typer.Option("--model", help="Pair model file (default: settings, else the table)")
]


def _pair_model(model_file: Path | None) -> PairModel | None:
    """The pair model to score with: ``--model``, the settings' file, else None (the
    table; exit 2, saying why, when a given file is not a pair model)."""
    from qanat.cli.common import settings_or_exit

    path = model_file or settings_or_exit().dedupe_model_file
    if path is None or not path.exists():
        if model_file is not None:
            print(f"error: no model file {model_file}", file=sys.stderr)
            raise typer.Exit(2)
        return None
    try:
        return PairModel.load(path)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(2) from exc


def _rules(rules_file: Path | None) -> RoutingRules:
    from qanat.cli.common import settings_or_exit
    from qanat.router.rules import load_rules

    try:
        return load_rules(rules_file or settings_or_exit().rules_file)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        raise typer.Exit(2) from exc


def _evidence(
    found: Iterable[tuple[int, Pair | str]], rules: RoutingRules
) -> Iterator[tuple[int, Pair | str, dict[str, Any]]]:
    """Each pair with the evidence the pipeline would record for it (the rules and the
    settings' routing model route its texts)."""
    from qanat.cli.common import settings_or_exit
    from qanat.cli.router import load_model
    from qanat.model import Normalized, RoutingDecision
    from qanat.router.decide import route

    router = load_model(settings_or_exit().router_model_file)

    def routed(normalized: Normalized, category: str | None) -> RoutingDecision:
        return route(normalized, rules=rules, category=category, model=router)

    for number, pair in found:
        if not isinstance(pair, Pair):
            yield number, pair, {}
            continue
        yield number, pair, pair_evidence(pair, route=routed, rules=rules.dedupe)


def _scored(
    file: Path, rules_file: Path | None, model_file: Path | None
) -> Iterator[tuple[int, Pair | str, dict[str, Any]]]:
    """Each pair with its score, band (under the rules' and model's thresholds) and
    evidence."""
    rules, model = _rules(rules_file), _pair_model(model_file)
    for number, pair, evidence in _evidence(read_pairs(file), rules):
        if not isinstance(pair, Pair):
            yield number, pair, {"score": 0.0}
            continue
        value = combined_score(evidence, model)
        band = rules.dedupe.band(value, evidence.get("category"), model)
        yield number, pair, {"score": value, "band": band, **evidence}


@app.command()
def score(
    file: PairsFile,
    rules_file: RulesOption = None,
    model_file: ModelOption = None,
    evidence: Annotated[
        bool, typer.Option("--evidence", help="Add the evidence: text, place, problem, time")
    ] = False,
) -> None:
    """Print one JSON line per pair (keys text_a and text_b), in order, with its score 0–100
    and its band: link, suggest (staff decide) or none."""
    failed = False
    for number, pair, found in _scored(file, rules_file, model_file):
        if isinstance(pair, str):
            failed = True
            out: dict[str, Any] = {"line": number, "error": pair}
        else:
            out = found if evidence else {"score": found["score"], "band": found["band"]}
            if pair.label is not None:
                out["label"] = pair.label
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    if failed:
        raise typer.Exit(1)


def _labelled(
    file: Path, rules_file: Path | None, model_file: Path | None
) -> list[tuple[float, int, str, str | None, float | None]]:
    """(score, label, band, category, metres apart) of each labelled pair."""
    return [
        (found["score"], pair.label, found["band"], found.get("category"), found.get("metres"))
        for _n, pair, found in _scored(file, rules_file, model_file)
        if isinstance(pair, Pair) and pair.label is not None
    ]


@app.command("calibrate")
def calibrate_command(
    file: PairsFile,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    rules_file: RulesOption = None,
    model_file: ModelOption = None,
) -> None:
    """Precision / recall / F1 per threshold on labelled pairs, and the thresholds to use:
    linking where precision is at least 0.97, suggesting where nine in ten are caught."""
    from qanat.dedupe.training import choose_thresholds

    labelled = _labelled(file, rules_file, model_file)
    scored = [(value, label) for value, label, _band, _category, _metres in labelled]
    rows, best_f1 = calibrate(scored)
    link, suggest = choose_thresholds([v for v, _l in scored], [label for _v, label in scored])
    categories = per_category(
        ((c, v, label, m) for v, label, _b, c, m in labelled), choose_thresholds
    )
    if as_json:
        out = {
            "n": len(scored),
            "recommended": link,
            "suggest": suggest,
            "best_f1_threshold": best_f1,
            "rows": [r.__dict__ for r in rows],
            "categories": [c.__dict__ for c in categories],
        }
        print(json.dumps(out))
        return
    print(f"{len(scored)} labelled pairs")
    print("threshold  precision  recall  f1")
    for row in rows:
        print(f"{row.threshold:9.0f}  {row.precision:9.3f}  {row.recall:6.3f}  {row.f1:.3f}")
    print(f"link from: {link:g} (precision >= 0.97)   suggest from: {suggest:g}")
    print(f"best F1 at: {best_f1}")
    if not categories:
        print(
            f"per category: none has {CATEGORY_PAIRS} labelled pairs with {CATEGORY_EACH} of"
            " each label; every category takes the thresholds above"
        )
        return
    print("per category (for the rules file's dedupe: categories: section):")
    for found in categories:
        print(f"  - {{{category_line(found)}}}   # {found.pairs} pairs")


def category_line(found: CategoryThresholds) -> str:
    """A category's recommendation as the fields of its line in the rules file."""
    fields = {
        "category": found.category,
        "threshold": found.link,
        "suggest_threshold": found.suggest,
        "radius_m": found.radius_m,
    }
    return ", ".join(
        f"{name}: {value:g}" if isinstance(value, float) else f"{name}: {value}"
        for name, value in fields.items()
        if value is not None
    )


@app.command("eval")
def eval_command(
    file: PairsFile,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    rules_file: RulesOption = None,
    model_file: ModelOption = None,
) -> None:
    """How the live thresholds do on labelled pairs: what is linked, what is linked or
    suggested (precision, recall, F1), and the ROC AUC of the score."""
    from qanat.dedupe.training import roc_auc

    scored = _labelled(file, rules_file, model_file)
    labels = [label for _v, label, _b, _c, _m in scored]
    figures: dict[str, Any] = {"n": len(scored), "duplicates": sum(labels)}
    for name, bands in (("linked", {"link"}), ("linked_or_suggested", {"link", "suggest"})):
        chosen = [label for _v, label, band, _c, _m in scored if band in bands]
        precision = sum(chosen) / len(chosen) if chosen else 1.0
        recall = sum(chosen) / sum(labels) if sum(labels) else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        figures[name] = {
            "pairs": len(chosen),
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f1": round(f1, 3),
        }
    figures["auc"] = round(roc_auc([v for v, _l, _b, _c, _m in scored], labels), 3)
    if as_json:
        print(json.dumps(figures))
        return
    print(
        f"{figures['n']} labelled pairs, {figures['duplicates']} duplicates, AUC {figures['auc']}"
    )
    for name in ("linked", "linked_or_suggested"):
        row = figures[name]
        print(
            f"{name.replace('_', ' '):22s} {row['pairs']:5d} pairs"
            f"  precision {row['precision']:.3f}  recall {row['recall']:.3f}  F1 {row['f1']:.3f}"
        )


@app.command()
def train(
    file: Annotated[
        Path | None, typer.Argument(exists=True, dir_okay=False, help="Labelled pairs (JSONL)")
    ] = None,
    from_store: Annotated[
        bool, typer.Option("--from-store", help="Add staff's links, unlinks and answers")
    ] = False,
    with_qanats: Annotated[
        bool, typer.Option("--with-qanats/--own-only", help="Start from qanat's own pairs")
    ] = True,
    out: Annotated[Path | None, typer.Option(help="Where to write (default: settings)")] = None,
    rules_file: RulesOption = None,
) -> None:
    """Learn the pair model from labelled pairs, choose its thresholds on held-out folds,
    and write it where qanat reads it (a running qanat picks it up)."""
    from qanat.cli.common import settings_or_exit
    from qanat.dedupe.pair_model import TRAINING_PAIRS
    from qanat.dedupe.training import Example, train

    settings = settings_or_exit()
    rules = _rules(rules_file)
    sources: list[tuple[str, list[tuple[int, Pair | str]]]] = []
    if with_qanats:
        sources.append(("qanat's pairs", list(read_pairs(TRAINING_PAIRS))))
    if file is not None:
        sources.append((file.name, list(read_pairs(file))))
    if from_store:
        stored = [(n, Pair.model_validate(p)) for n, p in enumerate(_corrections(), start=1)]
        sources.append(("staff corrections", list(stored)))
    examples: list[Example] = []
    for _name, found in sources:
        for _n, pair, evidence in _evidence(found, rules):
            if isinstance(pair, Pair) and pair.label is not None:
                examples.append(Example(evidence=evidence, label=pair.label))
    source = " + ".join(f"{name} ({len(found)})" for name, found in sources) or "nothing"
    try:
        model = train(examples, source=source)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from exc
    target = out or settings.dedupe_model_file or settings.home / "dedupe-model.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    model.save(target)
    measured = model.trained["out_of_fold"]
    print(f"trained on {len(examples)} pairs: {source}")
    print(
        f"held-out folds: precision {measured['precision']} recall {measured['recall']}"
        f" AUC {measured['auc']} at link {model.link_threshold:g}"
        f" (suggest from {model.suggest_threshold:g})"
    )
    print(f"wrote {target}")


def _corrections() -> list[dict[str, Any]]:
    """Staff corrections from the store, as labelled pairs."""
    from qanat.cli.common import store_or_exit
    from qanat.dedupe.service import correction_pairs
    from qanat.store.db import Database

    settings = store_or_exit(create=False)

    async def body() -> list[dict[str, Any]]:
        database = Database.from_url(settings.database_url)
        try:
            async with database.session() as session:
                return await correction_pairs(session)
        finally:
            await database.dispose()

    return asyncio.run(body())


@app.command()
def pairs() -> None:
    """Print staff corrections as labelled pairs, JSON Lines: links by hand 1; unlinks and
    suggestions called another problem 0."""
    found = _corrections()
    for pair in found:
        sys.stdout.write(json.dumps(pair, ensure_ascii=False) + "\n")
    print(f"{len(found)} corrections", file=sys.stderr)


@app.command()
def sweep(
    hours: Annotated[float, typer.Option(help="Look at tickets created in the last N hours")] = 24,
) -> None:
    """Re-examine recent tickets for duplicates concurrent processing missed."""
    from qanat.cli.common import store_or_exit
    from qanat.dedupe.pair_model import PairModelFile
    from qanat.dedupe.service import sweep as run_sweep
    from qanat.router.rules import load_rules
    from qanat.store.db import Database
    from qanat.store.tables import utcnow

    settings = store_or_exit()
    rules = load_rules(settings.rules_file).dedupe
    model = PairModelFile(settings.dedupe_model_file).current()

    async def body() -> list[tuple[str, str]]:
        database = Database.from_url(settings.database_url)
        try:
            async with database.writing() as session:
                since = utcnow() - timedelta(hours=hours)
                return await run_sweep(session, since=since, rules=rules, model=model)
        finally:
            await database.dispose()

    linked = asyncio.run(body())
    for duplicate, primary in linked:
        print(f"{duplicate} → duplicate of {primary}")
    print(f"{len(linked)} late duplicates linked", file=sys.stderr)


@app.command()
def replay(
    file: PairsFile,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    rules_file: RulesOption = None,
    model_file: ModelOption = None,
) -> None:
    """Replay a labelled stream through the pipeline into a scratch store and compare.

    FILE is JSON Lines as `qanat import` takes them, labelled with "duplicate": true and,
    when known, "duplicate_of": the original's external_id. The requests are imported in
    time order, with the settings' rules and models; the report gives the named originals
    found, duplicates linked, false links (and their share of the non-duplicates) and
    suggestions. Nothing touches the settings' own store.
    """
    import tempfile

    from qanat.cli.common import run, with_runtime
    from qanat.config import sqlite_url
    from qanat.store.readiness import prepare_store

    base = _rules_and_settings(rules_file)
    with tempfile.TemporaryDirectory(prefix="qanat-replay-") as folder:
        scratch = Path(folder)
        labels, _unreadable = split_stream(file, scratch / "stream.jsonl")
        settings = base.model_copy(
            update={
                "home": scratch,
                "database_url": sqlite_url(scratch / "qanat.db"),
                "attachments_dir": scratch / "files",
                "rules_file": rules_file or base.rules_file,
                "dedupe_model_file": model_file or base.dedupe_model_file,
                "connectors_file": None,
            }
        )
        prepare_store(settings.database_url, create=True)
        found = run(lambda: with_runtime(settings, _replayed(scratch, labels), inline=True))
    figures = found.as_dict()
    if as_json:
        print(json.dumps(figures))
        return
    print(
        f"{figures['requests']} requests, {figures['labelled_duplicates']} labelled duplicates, "
        f"{figures['named_originals']} naming an original in the stream"
    )
    print(f"named originals found: {figures['named_found']}/{figures['named_originals']}")
    print(f"links: {figures['links']} ({figures['duplicates_linked']} of labelled duplicates)")
    print(
        f"false links: {figures['false_links']} "
        f"({figures['false_link_share']:.1%} of the non-duplicates)"
    )
    print(f"suggested to staff: {figures['suggestions']}")


def _rules_and_settings(rules_file: Path | None) -> Settings:
    """The settings, once the rules file (given or theirs) is known to be good."""
    from qanat.cli.common import settings_or_exit

    _rules(rules_file)
    return settings_or_exit()


def _replayed(
    scratch: Path, labels: dict[str, Label]
) -> Callable[[Any], Coroutine[Any, Any, ReplayTally]]:
    async def body(runtime: Any) -> ReplayTally:
        from qanat.ingest.interchange import import_file
        from qanat.runtime import importing
        from qanat.store.queries import count_rows
        from qanat.store.tables import Event, Message, Ticket

        async with importing(runtime):
            await import_file(runtime.intake, scratch / "stream.jsonl")
        async with runtime.db.session() as session:
            messages = await session.execute(
                select(col(Message.external_id), col(Message.ticket_id)).where(
                    col(Message.direction) == "in", col(Message.ticket_id).is_not(None)
                )
            )
            filed = {str(external): int(ticket) for external, ticket in messages}
            rows = await session.execute(select(col(Ticket.id), col(Ticket.primary_ticket_id)))
            clusters = primaries((int(t), p) for t, p in rows)
            suggested = await count_rows(session, Event, col(Event.type) == "duplicate_suggested")
        return tally(labels, filed, clusters, suggested)

    return body
