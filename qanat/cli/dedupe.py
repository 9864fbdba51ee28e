"""``qanat dedupe score | calibrate | pairs | sweep``: how a body tunes and checks dedupe."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from qanat.dedupe.calibrate import calibrate
from qanat.dedupe.pairs import Pair, pair_evidence, read_pairs
from qanat.dedupe.similarity import combined_score
from qanat.errors import ConfigError

app = typer.Typer(
    help="Duplicate detection: score pairs, calibrate, export corrections, sweep.",
    no_args_is_help=True,
)
PairsFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False)]
RulesOption = Annotated[Path | None, typer.Option("--rules", help="Rules file (default: settings)")]


def _scored(
    file: Path, rules_file: Path | None
) -> Iterator[tuple[int, Pair | str, dict[str, Any]]]:
    """Each pair with the evidence the pipeline would record for it (the settings' rules
    and model) and, under ``score``, its score."""
    from qanat.cli.common import settings_or_exit
    from qanat.cli.router import load_model
    from qanat.model import Normalized, RoutingDecision
    from qanat.router.decide import route
    from qanat.router.rules import load_rules

    settings = settings_or_exit()
    try:
        rules = load_rules(rules_file or settings.rules_file)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        raise typer.Exit(2) from exc
    model = load_model(settings.router_model_file)

    def routed(normalized: Normalized, category: str | None) -> RoutingDecision:
        return route(normalized, rules=rules, category=category, model=model)

    for number, pair in read_pairs(file):
        if not isinstance(pair, Pair):
            yield number, pair, {"score": 0.0}
            continue
        evidence = pair_evidence(pair, route=routed, rules=rules.dedupe)
        band = rules.dedupe.band(combined_score(evidence), pair.category_b)
        yield number, pair, {"score": combined_score(evidence), "band": band, **evidence}


@app.command()
def score(
    file: PairsFile,
    rules_file: RulesOption = None,
    evidence: Annotated[
        bool, typer.Option("--evidence", help="Add the evidence: text, place, problem, time")
    ] = False,
) -> None:
    """Print one JSON line per pair (keys text_a and text_b), in order, with its score 0–100
    and its band: link, suggest (staff decide) or none."""
    failed = False
    for number, pair, found in _scored(file, rules_file):
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


@app.command("calibrate")
def calibrate_command(
    file: PairsFile,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    rules_file: RulesOption = None,
) -> None:
    """Precision / recall / F1 per threshold on labelled pairs, and the threshold to use."""
    scored = [
        (found["score"], pair.label)
        for _n, pair, found in _scored(file, rules_file)
        if isinstance(pair, Pair) and pair.label is not None
    ]
    rows, best = calibrate(scored)
    if as_json:
        print(
            json.dumps({"n": len(scored), "recommended": best, "rows": [r.__dict__ for r in rows]})
        )
        return
    print(f"{len(scored)} labelled pairs")
    print("threshold  precision  recall  f1")
    for row in rows:
        print(f"{row.threshold:9.0f}  {row.precision:9.3f}  {row.recall:6.3f}  {row.f1:.3f}")
    print(f"recommended threshold: {best}")


@app.command()
def pairs() -> None:
    """Print staff corrections as labelled pairs, JSON Lines: links by hand 1; unlinks and
    suggestions called another problem 0."""
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

    found = asyncio.run(body())
    for pair in found:
        sys.stdout.write(json.dumps(pair, ensure_ascii=False) + "\n")
    print(f"{len(found)} corrections", file=sys.stderr)


@app.command()
def sweep(
    hours: Annotated[float, typer.Option(help="Look at tickets created in the last N hours")] = 24,
) -> None:
    """Re-examine recent tickets for duplicates concurrent processing missed."""
    from qanat.cli.common import store_or_exit
    from qanat.dedupe.service import sweep as run_sweep
    from qanat.router.rules import load_rules
    from qanat.store.db import Database
    from qanat.store.tables import utcnow

    settings = store_or_exit()
    rules = load_rules(settings.rules_file).dedupe

    async def body() -> list[tuple[str, str]]:
        database = Database.from_url(settings.database_url)
        try:
            async with database.writing() as session:
                since = utcnow() - timedelta(hours=hours)
                return await run_sweep(session, since=since, rules=rules)
        finally:
            await database.dispose()

    linked = asyncio.run(body())
    for duplicate, primary in linked:
        print(f"{duplicate} → duplicate of {primary}")
    print(f"{len(linked)} late duplicates linked", file=sys.stderr)
