"""Block coverage: which residential blocks have a community representative (``/coverage``,
``/api/coverage``), for supervisors and admins.

The blocks are the body's list in ``QANAT_BLOCKS_FILE`` (one block a line, or a range
``301-319``; ``#`` starts a comment), else every block of the gazetteer's ranges.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from qanat.errors import ConfigError
from qanat.normalize.location import area_of_block, load_gazetteer
from qanat.store.coverage import BlockCoverage, coverage
from qanat.store.tables import utcnow
from qanat.web import schemas
from qanat.web.auth import ReportReader
from qanat.web.deps import RuntimeDep
from qanat.web.templating import page

router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["reports"])

#: Reports counted for each block: the last 30 days.
RECENT = timedelta(days=30)


def parse_blocks(text: str, source: str) -> list[str]:
    """The blocks a blocks file lists, in number order; :class:`ConfigError` names the line."""
    found: set[int] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        first, _, last = entry.partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError as exc:
            raise ConfigError(f"{source}:{number}: {entry!r} is not a block or a range") from exc
        if not 100 <= low <= high <= 9999:
            raise ConfigError(f"{source}:{number}: blocks are 3-4 digit numbers, low to high")
        found.update(range(low, high + 1))
    return [str(block) for block in sorted(found)]


@lru_cache(maxsize=4)
def _blocks_of(path: Path | None, stamp: float) -> tuple[str, ...]:
    if path is None:
        return tuple(str(b) for a in load_gazetteer() for b in range(a.block_from, a.block_to + 1))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"QANAT_BLOCKS_FILE {path}: cannot read it: {exc}") from exc
    return tuple(parse_blocks(text, str(path)))


def residential_blocks(path: Path | None) -> tuple[str, ...]:
    """The blocks representatives should cover (read again when the file changes)."""
    stamp = path.stat().st_mtime if path is not None and path.exists() else 0.0
    return _blocks_of(path, stamp)


def coverage_public(rows: list[BlockCoverage]) -> dict[str, Any]:
    """Coverage as the API gives it: totals, blocks without anyone, and each block."""
    uncovered = [r.block for r in rows if not r.covered]
    return {
        "blocks": len(rows),
        "covered": len(rows) - len(uncovered),
        "uncovered": uncovered,
        "by_block": [
            {
                "block": r.block,
                "area": area.area_en if (area := area_of_block(r.block)) else None,
                "representatives": [u for u, _name in r.representatives],
                "reports_30_days": r.reports,
            }
            for r in rows
        ],
    }


async def _rows(runtime: RuntimeDep) -> list[BlockCoverage]:
    blocks = residential_blocks(runtime.settings.blocks_file)
    async with runtime.db.session() as session:
        return await coverage(session, blocks=blocks, since=utcnow() - RECENT)


@api_router.get("/coverage", response_model=schemas.Coverage, response_model_exclude_unset=True)
async def get_coverage(runtime: RuntimeDep, viewer: ReportReader) -> dict[str, Any]:
    """Blocks with and without a community representative, and each block's recent reports."""
    return coverage_public(await _rows(runtime))


@router.get("/coverage")
async def coverage_page(request: Request, runtime: RuntimeDep, viewer: ReportReader) -> Response:
    """The coverage page: blocks without a representative first."""
    rows = await _rows(runtime)
    summary = coverage_public(rows)
    areas = {r.block: area_of_block(r.block) for r in rows}
    return page(request, "coverage.html", viewer=viewer, rows=rows, summary=summary, areas=areas)
