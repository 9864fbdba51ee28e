"""The README's quick start on a fresh copy of the repository, in a scratch folder.

`make demo` (without serving), then, as the README says to call them, `qanat open311 key
add`, `qanat user add` and `qanat report daily` with no QANAT_* variable at all: every
command must find the demo's data in ./qanat-data. The copy takes the repository's
files as git lists them; its .venv is this test run's own environment (so the test needs
no network: `make` is told the install is done, with -o), everything else is real.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def fresh_copy(target: Path) -> None:
    """The repository's files (tracked, and new ones not ignored), as a clone has them."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def shell(folder: Path, command: str) -> subprocess.CompletedProcess[str]:
    """``command`` in bash in ``folder``, with no QANAT_* variable, as a new user types it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QANAT_")}
    return subprocess.run(
        ["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.skipif(
    shutil.which("make") is None or shutil.which("git") is None, reason="needs make and git"
)
def test_the_quick_start_finds_the_demos_data_everywhere(tmp_path: Path) -> None:
    clone = tmp_path / "qanat"
    fresh_copy(clone)
    (clone / ".venv").symlink_to(Path(sys.prefix))
    made = shell(clone, "make demo DEMO_FLAGS=--no-serve -o .venv/.installed-run")
    assert made.returncode == 0, made.stderr
    assert "Tickets per department" in made.stderr

    activate = ". .venv/bin/activate && "
    key = shell(clone, activate + "qanat open311 key add fixmystreet")
    assert key.returncode == 0, key.stderr
    user = shell(
        clone,
        activate + "qanat user add mariam --role supervisor --department sewage "
        "--password 'long-enough-passphrase'",
    )
    assert user.returncode == 0, user.stderr
    report = shell(clone, activate + "qanat report daily")
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("\ufeffGroup / المجموعة,")
    status = shell(clone, activate + "qanat status --json")
    found = json.loads(status.stdout)
    assert found["data folder"] == str((clone / "qanat-data").resolve())
    # The demo's five, its two field inspectors, and mariam.
    assert found["tickets"] > 100 and found["staff"] == 8

    # One database for all of them: the demo's, holding what each command wrote.
    # (and the national complaints system the demo plays beside it, in its own file).
    databases = sorted(p.relative_to(clone) for p in clone.rglob("*.db"))
    assert databases == [Path("qanat-data/national.db"), Path("qanat-data/qanat.db")]
    with sqlite3.connect(clone / "qanat-data" / "qanat.db") as database:
        assert database.execute("SELECT name FROM open311_key").fetchall() == [("fixmystreet",)]
        assert ("mariam",) in database.execute("SELECT username FROM staff_user").fetchall()
