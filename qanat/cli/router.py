"""``qanat router check | train | eval``: the rules file and the learned model, for supervisors."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from qanat.errors import ConfigError
from qanat.model import Inbound, RoutingDecision, Sender
from qanat.normalize import normalize
from qanat.router.corrections import TrainingSet, training_examples
from qanat.router.decide import route, rules_are_foreign
from qanat.router.evaluate import coverage_curve, evaluate
from qanat.router.learned import LearnedRouter
from qanat.router.rules import RoutingRules, load_rules, model_only_rules

app = typer.Typer(help="Routing: check rules, train and evaluate.", no_args_is_help=True)


def _records(file: Path) -> Iterator[dict[str, Any]]:
    with file.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise TypeError("a line must hold one JSON object")
                str(record["text"]), str(record["department"])
            except KeyError as exc:
                raise typer.BadParameter(
                    f'{file}:{number}: no {exc} key (each line: {{"text": "…", "department": "…"}})'
                ) from exc
            except (ValueError, TypeError) as exc:
                raise typer.BadParameter(f"{file}:{number}: {exc}") from exc
            yield record


def _examples(file: Path) -> Iterator[tuple[str, str]]:
    for record in _records(file):
        yield str(record["text"]), str(record["department"])


def decide_text(text: str, rules: RoutingRules, model: LearnedRouter | None) -> RoutingDecision:
    """What the pipeline would decide for ``text`` (same functions, same order)."""
    inbound = Inbound(
        channel="web",
        external_id="eval",
        received_at=datetime.now(UTC),
        sender=Sender(handle="eval"),
        text=text,
    )
    return route(normalize(inbound), rules=rules, model=model)


@app.command()
def check(file: Annotated[Path, typer.Argument(help="The rules file")]) -> None:
    """Check a rules file; every problem is printed with its line number (exit 1)."""
    try:
        rules = load_rules(file)
    except ConfigError as exc:
        problems = str(exc).splitlines()
        print(str(exc), file=sys.stderr)
        print(f"{len(problems)} problem{'s' * (len(problems) > 1)} in {file}", file=sys.stderr)
        raise typer.Exit(1) from exc
    keywords = sum(len(r.words) for d in rules.departments for r in d.keywords)
    print(
        f"{file}: valid (version {rules.version}): {len(rules.departments)} departments, "
        f"{sum(len(d.categories) for d in rules.departments)} categories, {keywords} keywords, "
        f"{len(rules.sla)} SLA rows, {len(rules.holidays)} holidays"
    )


def load_model(model_file: Path | None) -> LearnedRouter | None:
    """The learned routing model in ``model_file``, if there is one (exit 2, saying why,
    when the file is not a model this qanat reads)."""
    if model_file is None or not model_file.exists():
        return None
    try:
        return LearnedRouter.load(model_file)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(2) from exc


@app.command()
def train(
    file: Annotated[
        Path | None,
        typer.Option("--file", help="JSONL of text, department (and optional weight)"),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the model")] = None,
) -> None:
    """Train the learned router from a file, or from the store's handled tickets (staff
    corrections count twice)."""
    from qanat.cli.common import store_or_exit
    from qanat.router.training import Example, train_router

    settings = store_or_exit()
    target = out or settings.router_model_file or settings.home / "router-model.npz"
    if file is not None:
        examples = [
            Example(str(r["text"]), str(r["department"]), float(r.get("weight", 1.0)))
            for r in _records(file)
        ]
        asyncio.run(_create_departments(settings.database_url, {e.department for e in examples}))
        note = ""
    else:
        found = asyncio.run(_from_store(settings.database_url))
        examples = found.examples
        note = (
            f" ({found.corrections} staff corrections, counted twice; "
            f"{found.unconfirmed_guesses} unconfirmed learned guesses left out)"
        )
    try:
        model = train_router(examples)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from exc
    model.save(target)
    facts = model.training or {}
    print(
        f"trained on {len(examples)} examples{note}, {len(model.departments)} departments "
        f"(C={facts.get('c')}, cross-validated balanced accuracy "
        f"{facts.get('cv_balanced_accuracy')}) → {target}"
    )
    _warn_about_scope(settings.rules_file, model)


def _warn_about_scope(rules_file: Path | None, model: LearnedRouter) -> None:
    """Say which departments the model and the rules file do not share: rules for
    departments the model does not know yield to it when it is sure."""
    try:
        rules = load_rules(rules_file)
    except ConfigError:
        return
    in_rules = {d.code for d in rules.departments}
    unknown = sorted(set(model.departments) - in_rules)
    untrained = sorted(in_rules - set(model.departments))
    if rules_are_foreign(rules, model):
        print(
            f"note: the rules file lacks most of the model's departments ({', '.join(unknown)}): "
            f"it is taken for another body's, and none of its routing rules apply",
            file=sys.stderr,
        )
        return
    if unknown:
        print(f"note: departments the rules file lacks: {', '.join(unknown)}", file=sys.stderr)
    if untrained:
        print(
            f"note: rules-file departments with no training example (their rules yield to a "
            f"sure model): {', '.join(untrained)}",
            file=sys.stderr,
        )


async def _create_departments(database_url: str, codes: set[str]) -> None:
    from qanat.store import queries
    from qanat.store.db import Database

    database = Database.from_url(database_url)
    try:
        async with database.writing() as session:
            known = await queries.department_ids(session)
            new = sorted(codes - set(known))
            for code in new:
                print(f"warning: department {code!r} did not exist; created it", file=sys.stderr)
            await queries.sync_departments(
                session, departments=[(c, c.replace("_", " ").title(), c, None) for c in new]
            )
    finally:
        await database.dispose()


async def _from_store(database_url: str) -> TrainingSet:
    from qanat.store.db import Database

    database = Database.from_url(database_url)
    try:
        async with database.session() as session:
            return await training_examples(session)
    finally:
        await database.dispose()


@app.command("eval")
def eval_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    rules_file: Annotated[
        str | None, typer.Option("--rules", help="Rules file, or 'none' for the model alone")
    ] = None,
    model_file: Annotated[Path | None, typer.Option("--model")] = None,
    curve: Annotated[bool, typer.Option("--curve", help="Coverage by threshold")] = False,
) -> None:
    """Route every line (keys text and department) exactly as the pipeline would, and score."""
    from qanat.cli.common import settings_or_exit

    settings = settings_or_exit()
    model_path = model_file or settings.router_model_file
    model = load_model(model_path)
    rules, rules_used = _rules_for_eval(rules_file, settings.rules_file, model)
    examples = list(_examples(file))
    report = evaluate(examples, lambda text: decide_text(text, rules, model))
    result: dict[str, Any] = {
        **report.to_json(),
        "rules": rules_used,
        "model": str(model_path) if model is not None else None,
        "threshold": model.threshold if model is not None else None,
    }
    if curve and model is not None:
        guesses = ((expected, model.predict(text)) for text, expected in examples)
        result["curve"] = coverage_curve(
            (expected, guess[0], guess[1]) if guess else (expected, "-", 0.0)
            for expected, guess in guesses
        )
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    _print_eval(result)


def _rules_for_eval(
    asked: str | None, configured: Path | None, model: LearnedRouter | None
) -> tuple[RoutingRules, str]:
    """The rules ``eval`` routes with, and how to name them in its answer."""
    if asked == "none":
        if model is None:
            print("error: --rules none evaluates the model alone, and there is no model")
            raise typer.Exit(2)
        return model_only_rules(model.departments), "none (the model alone)"
    path = Path(asked) if asked else configured
    try:
        rules = load_rules(path)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        raise typer.Exit(2) from exc
    named = str(path) if path else "the shipped sample rules"
    if model is not None and rules_are_foreign(rules, model):
        named += " (lacking most of the model's departments: none of its routing rules apply)"
    return rules, named


def _print_eval(result: dict[str, Any]) -> None:
    print(f"rules: {result['rules']}; model: {result['model'] or 'none'}")
    print(
        f"n={result['n']} accuracy={result['accuracy']:.3f} (first choice) "
        f"coverage={result['coverage']:.3f} accuracy_answered={result['accuracy_answered']:.3f} "
        f"misrouted={result['misrouted']:.3f} triage={result['triage']}"
    )
    for department, figures in result["per_department"].items():
        print(
            f"  {department:18} precision {figures['precision']:.3f}  "
            f"recall {figures['recall']:.3f}  ({figures['support']})"
        )
    for row in result.get("curve", []):
        print(
            f"  threshold {row['threshold']:.1f}: coverage {row['coverage']:.3f}, "
            f"accuracy answered {row['accuracy_answered']:.3f}"
        )
