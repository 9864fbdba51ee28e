"""``qanat dedupe score | calibrate | sweep``: how a body tunes and checks dedupe."""

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
from qanat.dedupe.similarity import pair_score

app = typer.Typer(help="Duplicate detection: score pairs, calibrate, sweep.", no_args_is_help=True)


def _pairs(file: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    with file.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("a line must hold one JSON object")
                str(record["text_a"]), str(record["text_b"])
            except (ValueError, KeyError) as exc:
                yield number, f"{type(exc).__name__}: {exc}"
                continue
            yield number, record


@app.command()
def score(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Print one JSON line per pair (``text_a``, ``text_b``), in order, with its score 0–100."""
    failed = False
    for number, record in _pairs(file):
        if isinstance(record, str):
            failed = True
            out: dict[str, Any] = {"line": number, "error": record}
        else:
            out = {"score": pair_score(record["text_a"], record["text_b"])}
            if "label" in record:
                out["label"] = record["label"]
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    if failed:
        raise typer.Exit(1)


@app.command("calibrate")
def calibrate_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Precision / recall / F1 per threshold on labelled pairs, and the threshold to use."""
    scored = [
        (pair_score(r["text_a"], r["text_b"]), int(r["label"]))
        for _n, r in _pairs(file)
        if isinstance(r, dict) and "label" in r
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
def sweep(
    hours: Annotated[float, typer.Option(help="Look at tickets created in the last N hours")] = 24,
) -> None:
    """Re-examine recent tickets for duplicates concurrent processing missed."""
    from qanat.cli import settings_or_exit
    from qanat.dedupe.service import sweep as run_sweep
    from qanat.store.db import Database
    from qanat.store.tables import utcnow

    settings = settings_or_exit()

    async def body() -> list[tuple[str, str]]:
        database = Database.from_url(settings.database_url)
        try:
            async with database.writing() as session:
                return await run_sweep(session, since=utcnow() - timedelta(hours=hours))
        finally:
            await database.dispose()

    linked = asyncio.run(body())
    for duplicate, primary in linked:
        print(f"{duplicate} → duplicate of {primary}")
    print(f"{len(linked)} late duplicates linked", file=sys.stderr)
