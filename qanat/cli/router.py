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
from qanat.model import Inbound, Sender
from qanat.normalize import normalize
from qanat.router.corrections import TrainingSet, training_examples
from qanat.router.decide import route
from qanat.router.evaluate import evaluate
from qanat.router.learned import LearnedRouter
from qanat.router.rules import RoutingRules, load_rules

app = typer.Typer(help="Routing: check rules, train and evaluate.", no_args_is_help=True)


def _examples(file: Path) -> Iterator[tuple[str, str]]:
    with file.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                yield str(record["text"]), str(record["department"])
            except (ValueError, KeyError, TypeError) as exc:
                raise typer.BadParameter(f"{file}:{number}: {exc}") from exc


def decide_text(text: str, rules: RoutingRules, model: LearnedRouter | None) -> str:
    """The department the pipeline would choose for ``text`` (same functions, same order)."""
    inbound = Inbound(
        channel="web",
        external_id="eval",
        received_at=datetime.now(UTC),
        sender=Sender(handle="eval"),
        text=text,
    )
    return route(normalize(inbound), rules=rules, model=model).department


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
    """The learned routing model in ``model_file``, if there is one."""
    if model_file is None or not model_file.exists():
        return None
    return LearnedRouter.from_json(model_file.read_text(encoding="utf-8"))


@app.command()
def train(
    file: Annotated[Path | None, typer.Option("--file", help="JSONL of text, department")] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the model")] = None,
) -> None:
    """Train the learned fallback from a file, or from the store's handled tickets."""
    from qanat.cli.common import store_or_exit

    settings = store_or_exit()
    target = out or settings.router_model_file or settings.home / "router-model.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    if file is not None:
        examples = list(_examples(file))
        asyncio.run(_create_departments(settings.database_url, {d for _t, d in examples}))
        note = ""
    else:
        found = asyncio.run(_from_store(settings.database_url))
        examples = found.examples
        note = (
            f" ({found.corrections} staff corrections; {found.unconfirmed_guesses} "
            "unconfirmed learned guesses left out)"
        )
    model = LearnedRouter.train(examples)
    target.write_text(model.to_json(), encoding="utf-8")
    print(
        f"trained on {len(examples)} examples{note}, {len(model.documents)} departments → {target}"
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
    rules_file: Annotated[Path | None, typer.Option("--rules")] = None,
    model_file: Annotated[Path | None, typer.Option("--model")] = None,
) -> None:
    """Route every line (keys text and department) exactly as the pipeline would, and score."""
    from qanat.cli.common import settings_or_exit

    settings = settings_or_exit()
    rules = load_rules(rules_file or settings.rules_file)
    model = load_model(model_file or settings.router_model_file)
    report = evaluate(_examples(file), lambda text: decide_text(text, rules, model))
    result: dict[str, Any] = report.to_json()
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print(f"n={result['n']} accuracy={result['accuracy']:.3f}")
    for department, figures in result["per_department"].items():
        print(
            f"  {department:18} precision {figures['precision']:.3f}  "
            f"recall {figures['recall']:.3f}  ({figures['support']})"
        )
