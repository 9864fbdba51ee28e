"""``qanat backup`` / ``qanat restore``: the whole store in one file, and back.

A backup is a zip file:

- ``manifest.json`` — the format and its version, the migration revision of the
  database it came from, when it was made, and per table its row count and how each
  column is written (``time``, ``bytes``, ``json``, ``plain``);
- ``tables/NAME.jsonl`` — every row of every table, one JSON object a line, ids
  included (messages' raw bytes in base64, times in ISO 8601 with their offset);
- ``files/…`` — the attachments folder, as it is (files are named by their sha256);
- ``config/…`` — the rules file and the learned routing model, when there are any.

Restoring writes the rows into an empty database at the backup's revision, all in one
transaction, then migrates it to the newest revision; the files go back into the
attachments folder. Nothing is summarised or rebuilt: what comes back is what was saved.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from qanat.errors import BadPayload
from qanat.store.copying import (
    column_kinds,
    decode_row,
    encode_row,
    qanat_tables,
    read_rows,
    write_all,
)

FORMAT = "qanat-backup"
VERSION = 1
MANIFEST = "manifest.json"


@dataclass
class Manifest:
    """What a backup holds: its revision, rows per table, column kinds, files."""

    revision: str
    created_at: str
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: int = 0
    config: list[str] = field(default_factory=list)

    def rows(self) -> dict[str, int]:
        """Rows per table."""
        return {name: int(entry["rows"]) for name, entry in self.tables.items()}


async def _write_table(archive: zipfile.ZipFile, connection: Any, table: Table) -> int:
    kinds = column_kinds(table)
    count = 0
    with archive.open(f"tables/{table.name}.jsonl", "w", force_zip64=True) as handle:
        async for row in read_rows(connection, table):
            line = json.dumps(encode_row(row, kinds), ensure_ascii=False, sort_keys=True)
            handle.write(line.encode("utf-8") + b"\n")
            count += 1
    return count


def _add_files(archive: zipfile.ZipFile, folder: Path) -> int:
    if not folder.is_dir():
        return 0
    count = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            archive.write(path, f"files/{path.relative_to(folder).as_posix()}")
            count += 1
    return count


async def write_backup(
    engine: AsyncEngine,
    target: Path,
    *,
    revision: str,
    attachments_dir: Path,
    config_files: Mapping[str, Path] | None = None,
) -> Manifest:
    """Write everything into the zip file ``target`` (through a ``.part`` file, renamed
    at the end, so a failed backup never looks like a good one)."""
    manifest = Manifest(revision=revision, created_at=datetime.now(UTC).isoformat())
    partial = target.with_name(target.name + ".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        async with engine.connect() as connection:
            if connection.dialect.name == "postgresql":  # one snapshot of every table
                await connection.execution_options(isolation_level="REPEATABLE READ")
            for table in qanat_tables():
                rows = await _write_table(archive, connection, table)
                manifest.tables[table.name] = {"rows": rows, "columns": column_kinds(table)}
        manifest.files = _add_files(archive, attachments_dir)
        for name, path in (config_files or {}).items():
            if path.is_file():
                archive.write(path, f"config/{name}")
                manifest.config.append(name)
        archive.writestr(MANIFEST, json.dumps(_manifest_json(manifest), indent=1))
    partial.replace(target)
    return manifest


def _manifest_json(manifest: Manifest) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "revision": manifest.revision,
        "created_at": manifest.created_at,
        "tables": manifest.tables,
        "files": manifest.files,
        "config": manifest.config,
    }


def read_manifest(source: Path) -> Manifest:
    """The manifest of the backup ``source``; :class:`BadPayload` when it is not one."""
    try:
        with zipfile.ZipFile(source) as archive:
            data = json.loads(archive.read(MANIFEST))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise BadPayload(f"{source} is not a qanat backup ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadPayload(f"{source} is not a qanat backup")
    if data.get("version") != VERSION:
        raise BadPayload(
            f"{source} is a version {data.get('version')} backup; this qanat reads {VERSION}"
        )
    known = {table.name for table in qanat_tables()}
    unknown = sorted(set(data["tables"]) - known)
    if unknown:
        raise BadPayload(
            f"{source} holds tables this qanat does not know ({', '.join(unknown)}): restore it "
            f"with the qanat that made it (revision {data['revision']})"
        )
    return Manifest(
        revision=data["revision"],
        created_at=data["created_at"],
        tables=data["tables"],
        files=data.get("files", 0),
        config=data.get("config", []),
    )


async def restore_rows(engine: AsyncEngine, source: Path, manifest: Manifest) -> dict[str, int]:
    """Write the backup's rows into the empty database of ``engine``; rows per table."""
    with zipfile.ZipFile(source) as archive:

        async def rows_of(table: Table) -> AsyncIterator[dict[str, Any]]:
            kinds = manifest.tables[table.name]["columns"]
            with archive.open(f"tables/{table.name}.jsonl") as handle:
                for line in handle:
                    if line.strip():
                        yield decode_row(json.loads(line), kinds)

        return await write_all(engine, rows_of, manifest.tables)


def _member_path(folder: Path, name: str, prefix: str) -> Path:
    relative = PurePosixPath(name[len(prefix) :])
    if relative.is_absolute() or ".." in relative.parts:
        raise BadPayload(f"the backup names a file outside its folder: {name}")
    return folder.joinpath(*relative.parts)


def restore_files(source: Path, folder: Path) -> int:
    """Put the backup's attachments into ``folder``; returns how many."""
    count = 0
    with zipfile.ZipFile(source) as archive:
        for member in archive.infolist():
            if member.is_dir() or not member.filename.startswith("files/"):
                continue
            path = _member_path(folder, member.filename, "files/")
            path.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as reading, path.open("wb") as writing:
                while chunk := reading.read(1 << 20):
                    writing.write(chunk)
            count += 1
    return count


def restore_config(source: Path, targets: Mapping[str, Path]) -> dict[str, str]:
    """Put the backup's rules and model files where ``targets`` say, unless a file is
    there already (it is kept). Returns what became of each: ``restored`` or ``kept``."""
    outcome = {}
    with zipfile.ZipFile(source) as archive:
        for name, path in targets.items():
            member = f"config/{name}"
            if member not in archive.namelist():
                continue
            if path.exists():
                outcome[name] = "kept"
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(archive.read(member))
            outcome[name] = "restored"
    return outcome
