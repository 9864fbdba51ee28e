"""The rules file: the shipped sample is valid, and problems name their line."""

from __future__ import annotations

import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qanat.cli.main import app
from qanat.errors import ConfigError
from qanat.router.rules import SAMPLE_RULES, RulesSource, SlaWarning, load_rules

FIXTURES = Path(__file__).parent.parent / "fixtures" / "router"


def test_the_sample_covers_a_bahraini_works_ministry() -> None:
    rules = load_rules()
    codes = {d.code for d in rules.departments}
    assert {
        "roads",
        "sewage",
        "buildings",
        "street_lighting",
        "cleanliness",
        "parks",
        "planning",
        "call_centre",
    } <= codes
    assert all(d.name_ar and d.name_en for d in rules.departments)
    assert len(rules.holidays) >= 20 and rules.version


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("unknown_department.yaml", "unknown_department.yaml:7: unknown department 'planing'"),
        ("bad_hours.yaml", "bad_hours.yaml:6: departments.0.working_hours"),
        ("broken_yaml.yaml", "broken_yaml.yaml:5: not valid YAML"),
        ("bad_assignment.yaml", "bad_assignment.yaml:7: departments.0.assignment"),
        ("bad_warning.yaml", "bad_warning.yaml:6: sla_warning.share"),
        (
            "dedupe_unknown_category.yaml",
            "dedupe_unknown_category.yaml:12: unknown category 'sewage_overfow'",
        ),
        (
            "service_code_unknown_category.yaml",
            "service_code_unknown_category.yaml:10: unknown category 'sewage_overfow'",
        ),
        (
            "dedupe_low_threshold.yaml",
            "dedupe_low_threshold.yaml:10: dedupe.categories.0.threshold: Input should be "
            "greater than or equal to 40",
        ),
    ],
)
def test_problems_name_the_file_and_line(name: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_rules(FIXTURES / name)
    assert message in str(caught.value)


def test_duplicate_thresholds_and_windows_are_per_category_with_defaults() -> None:
    dedupe = load_rules().dedupe
    assert dedupe.threshold_for("pothole") == dedupe.threshold_for(None) == 55
    assert dedupe.threshold_for("building_permit") == 95
    assert dedupe.window_for("garbage") == timedelta(days=7)
    assert dedupe.window_for("pothole") == timedelta(days=14)
    assert dedupe.window_for("illegal_construction") == timedelta(days=90)
    assert dedupe.recurrence_window == timedelta(days=60)


def test_a_category_the_file_does_not_list_is_compared_within_qanat_defaults() -> None:
    # The sample's 14 days are for Bahrain's roads and drains: another body's category,
    # kept as given, gets 2 days and 50 m at most, as qanat's own defaults.
    dedupe = load_rules().dedupe
    assert dedupe.window_for("Animal Generic Request") == timedelta(days=2)
    assert dedupe.window_for("pothole") == dedupe.window_for(None) == timedelta(days=14)
    assert dedupe.radius_for("Animal Generic Request") == 50
    assert dedupe.radius_for("street_light_out") == 300
    assert dedupe.threshold_for("Animal Generic Request") == 55


def test_a_body_window_is_kept_for_its_categories_and_capped_for_others() -> None:
    wide = load_rules(FIXTURES / "dedupe_wide.yaml").dedupe
    assert wide.window_for("pothole") == wide.window_for(None) == timedelta(days=30)
    assert wide.radius_for("pothole") == 400
    assert wide.window_for("unlisted") == timedelta(days=2) and wide.radius_for("unlisted") == 50
    narrow = load_rules(FIXTURES / "dedupe_narrow.yaml").dedupe  # stricter: kept for all
    assert narrow.window_for("unlisted") == timedelta(days=1)
    assert narrow.radius_for("unlisted") == 20


def test_router_check_prints_the_line_and_fails() -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["router", "check", str(FIXTURES / "unknown_department.yaml")])
    good = runner.invoke(app, ["router", "check", str(SAMPLE_RULES)])
    assert bad.exit_code == 1 and ":7: unknown department 'planing'" in bad.stderr
    assert good.exit_code == 0 and "valid" in good.stdout


def test_router_check_reports_every_problem_not_only_the_first() -> None:
    runner = CliRunner()
    checked = runner.invoke(app, ["router", "check", str(FIXTURES / "several_problems.yaml")])
    assert checked.exit_code == 1
    lines = checked.stderr.splitlines()
    assert lines[:4] == [
        f"{FIXTURES / 'several_problems.yaml'}:1: unknown department 'roadz'",
        f"{FIXTURES / 'several_problems.yaml'}:9: unknown department 'planing'",
        f"{FIXTURES / 'several_problems.yaml'}:11: unknown category 'sewage_overfow'",
        f"{FIXTURES / 'several_problems.yaml'}:13: unknown department 'sewage'",
    ]
    assert lines[4] == f"4 problems in {FIXTURES / 'several_problems.yaml'}"
    fields = runner.invoke(app, ["router", "check", str(FIXTURES / "several_invalid_fields.yaml")])
    assert fields.exit_code == 1
    assert ":6: departments.0.working_hours" in fields.stderr
    assert ":7: departments.0.assignment" in fields.stderr
    assert ":8: sla_warning.share" in fields.stderr
    assert "3 problems in" in fields.stderr


def test_edits_are_picked_up_without_a_restart_and_versions_kept(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    shutil.copy(FIXTURES / "learned_only.yaml", path)
    source = RulesSource(path)
    first = source.current()
    time.sleep(0.01)
    path.write_text(path.read_text() + "  - {code: roads, name_en: Roads, name_ar: الطرق}\n")
    second = source.current()
    assert second.version != first.version and second.department("roads") is not None
    assert set(source.versions) == {first.version, second.version}
    path.write_text("departments: [")  # a broken edit keeps the last good rules
    assert source.current().version == second.version


def test_warnings_come_at_a_share_of_the_sla_or_hours_before_it() -> None:
    assert SlaWarning().warn_after(40) == 32  # 80 % without a sla_warning section
    assert SlaWarning(share=0.5).warn_after(8) == 4
    assert SlaWarning(hours_before=2).warn_after(8) == 6
    assert SlaWarning(hours_before=12).warn_after(8) == 0  # at once
