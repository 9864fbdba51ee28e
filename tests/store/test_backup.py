"""The backup file: what it holds, and what it refuses to unpack."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from qanat.errors import BadPayload
from qanat.ingest.interchange import import_file
from qanat.runtime import Runtime
from qanat.store.backup import read_manifest, restore_files, write_backup
from qanat.store.copying import qanat_tables

IMPORTS = Path(__file__).parents[1] / "fixtures" / "import"


async def test_the_backup_lists_every_table_with_its_rows(runtime: Runtime, tmp_path: Path) -> None:
    await import_file(runtime.intake, IMPORTS / "sewage_block_305.jsonl")
    files = tmp_path / "files"
    (files / "ab").mkdir(parents=True)
    (files / "ab" / "abcdef").write_bytes(b"\x89PNG...")
    rules = tmp_path / "rules.yaml"
    rules.write_text("default_department: roads\n")
    target = tmp_path / "backup.zip"
    manifest = await write_backup(
        runtime.db.engine,
        target,
        revision="0007_sla",
        attachments_dir=files,
        config_files={"rules.yaml": rules, "router-model.npz": tmp_path / "absent.json"},
    )
    assert set(manifest.tables) == {table.name for table in qanat_tables()}
    assert manifest.rows()["message"] == 6 and manifest.rows()["ticket"] == 4
    assert manifest.files == 1 and manifest.config == ["rules.yaml"]
    with zipfile.ZipFile(target) as archive:
        lines = archive.read("tables/message.jsonl").decode().splitlines()
        assert archive.read("files/ab/abcdef") == b"\x89PNG..."
    assert len(lines) == 6 and json.loads(lines[0])["raw"]  # base64 of the exact bytes
    assert read_manifest(target).rows() == manifest.rows()
    assert not target.with_name("backup.zip.part").exists()


def test_a_file_outside_the_attachments_folder_is_refused(tmp_path: Path) -> None:
    crafted = tmp_path / "crafted.zip"
    with zipfile.ZipFile(crafted, "w") as archive:
        archive.writestr("files/../../outside.txt", b"no")
    with pytest.raises(BadPayload, match="outside its folder"):
        restore_files(crafted, tmp_path / "files")
    assert not (tmp_path.parent / "outside.txt").exists()


def test_a_backup_of_tables_this_qanat_does_not_know_is_refused(tmp_path: Path) -> None:
    newer = tmp_path / "newer.zip"
    manifest = {
        "format": "qanat-backup",
        "version": 1,
        "revision": "0099_future",
        "created_at": "2027-01-01T00:00:00+00:00",
        "tables": {"hovercraft": {}},
    }
    with zipfile.ZipFile(newer, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
    with pytest.raises(BadPayload, match="hovercraft"):
        read_manifest(newer)
