"""Rules versions saved in the store: the newest is in force in every process."""

from __future__ import annotations

from qanat.config import Settings
from qanat.router.rules import SAMPLE_RULES, parse_rules
from qanat.runtime import Runtime, start_runtime, stop_runtime
from qanat.store import rules_versions


async def test_a_saved_version_wins_over_the_file_here_and_in_another_process(
    runtime: Runtime, settings: Settings
) -> None:
    file_version = runtime.rules().version
    text = SAMPLE_RULES.read_text(encoding="utf-8").replace(
        "default_department: call_centre", "default_department: roads"
    )
    checked = parse_rules(text, "edit", base=SAMPLE_RULES.parent)
    assert checked.default_department == "roads"
    async with runtime.db.writing() as session:
        await rules_versions.save(session, text=text, version=checked.version, by="staff:admin")
    other = await start_runtime(settings)  # a worker starting later
    try:
        assert other.rules().version == checked.version != file_version
    finally:
        await stop_runtime(other)
    assert runtime.rules().version == file_version  # until this process looks again
    assert (await runtime.refresh_rules()).default_department == "roads"
    assert runtime.rules().version == checked.version


async def test_a_version_that_does_not_check_keeps_the_rules_in_force(runtime: Runtime) -> None:
    before = runtime.rules().version
    async with runtime.db.writing() as session:
        await rules_versions.save(session, text="departments: []", version="x", by="staff:admin")
    assert (await runtime.refresh_rules()).version == before
