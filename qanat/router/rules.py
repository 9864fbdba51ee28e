"""The routing rules file: departments, categories, keyword / kind / place / priority rules,
SLA, and the duplicate thresholds and windows per category.

Checked on load: a problem is reported with the file, the line and what is wrong
(``qanat router check FILE``). Every version seen is kept, so a decision can name the
rules version it used even after staff edited the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from qanat.dedupe.rules import DedupeRules
from qanat.errors import ConfigError
from qanat.model import Kind, Priority

SAMPLE_RULES = Path(__file__).parent / "sample_rules.yaml"
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Category(_Strict):
    """A kind of work a department does (also an Open311 service)."""

    code: str
    name_en: str
    name_ar: str


class KeywordRule(_Strict):
    """Words or phrases that name a department's work (optionally a category of it)."""

    words: list[str] = Field(min_length=1)
    category: str | None = None


class DepartmentRule(_Strict):
    """A department: names, escalation address, hours, categories, keywords."""

    code: str = Field(pattern=r"^[a-z0-9_]+$")
    name_en: str
    name_ar: str
    email: str | None = None
    working_hours: str = "07:00-14:15"
    categories: list[Category] = Field(default_factory=list)
    keywords: list[KeywordRule] = Field(default_factory=list)
    assignment: Literal["none", "round_robin", "least_loaded"] = Field(
        default="none",
        description="How new tickets are given to the department's agents (none: the "
        "department's queue, where agents take them).",
    )

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        opens, _, closes = value.partition("-")
        if time.fromisoformat(opens.strip()) >= time.fromisoformat(closes.strip()):
            raise ValueError("working hours must open before they close, like 07:00-14:15")
        return value

    def hours(self) -> tuple[time, time]:
        """Opening and closing time."""
        opens, _, closes = self.working_hours.partition("-")
        return time.fromisoformat(opens.strip()), time.fromisoformat(closes.strip())


class KindRule(_Strict):
    """A kind of message that goes to one department (suggestions to planning, …)."""

    kind: Kind
    department: str
    category: str | None = None
    before_keywords: bool = Field(
        default=True,
        description="False: only when no keyword names the work (a complaint with a "
        "question mark is still a complaint about that work).",
    )


class PlaceRule(_Strict):
    """A place (block, area or governorate) whose general matters go to a department."""

    department: str
    block: str | None = None
    area: str | None = None
    governorate: str | None = None


class PriorityRule(_Strict):
    """A priority for categories, kinds, or words in the text."""

    priority: Priority
    categories: list[str] = Field(default_factory=list)
    kinds: list[Kind] = Field(default_factory=list)
    words: list[str] = Field(default_factory=list)


class SlaRule(_Strict):
    """Hours to respond and to resolve for a department × kind × priority ("*" = any)."""

    department: str = "*"
    kind: str = "*"
    priority: str = "*"
    first_response_hours: float = Field(gt=0)
    resolution_hours: float = Field(gt=0)
    clock: Literal["business", "continuous"] = "business"


#: Without a ``sla_warning`` section, staff are warned when 80 % of the SLA time has run.
DEFAULT_WARNING_SHARE = 0.8


class SlaWarning(_Strict):
    """When staff are warned that a deadline is near: a share of the SLA time, or hours
    before it (counted on the same clock as the SLA)."""

    share: float | None = Field(default=None, gt=0, lt=1, description="0.8: at 80 %")
    hours_before: float | None = Field(default=None, gt=0)

    def warn_after(self, hours: float) -> float:
        """SLA hours after which the warning goes out (``hours_before`` wins when set)."""
        if self.hours_before is not None:
            return max(hours - self.hours_before, 0.0)
        return hours * (self.share if self.share is not None else DEFAULT_WARNING_SHARE)


class RoutingRules(_Strict):
    """A parsed, checked rules file, with the version decisions record."""

    default_department: str
    learned_before_places: bool = Field(
        default=False,
        description="True: a confident learned guess names the work before place rules "
        "send the ticket to the area's office.",
    )
    working_days: list[str] = Field(default_factory=lambda: ["sunday", *DAYS[:4]])
    holidays_file: str | None = None
    departments: list[DepartmentRule] = Field(min_length=1)
    kinds: list[KindRule] = Field(default_factory=list)
    places: list[PlaceRule] = Field(default_factory=list)
    priorities: list[PriorityRule] = Field(default_factory=list)
    sla: list[SlaRule] = Field(default_factory=list)
    sla_warning: SlaWarning = Field(default_factory=SlaWarning)
    dedupe: DedupeRules = Field(default_factory=DedupeRules)
    #: Service codes of other systems (an upstream Open311's) → the qanat category each is.
    service_codes: dict[str, str] = Field(default_factory=dict)
    version: str = ""
    holidays: list[date] = Field(default_factory=list)

    def department(self, code: str) -> DepartmentRule | None:
        """The department with this code."""
        return next((d for d in self.departments if d.code == code), None)

    def category_owner(self, code: str) -> str | None:
        """The department owning a category code, if any."""
        for department in self.departments:
            if any(c.code == code for c in department.categories):
                return department.code
        return None


def _line_of(node: yaml.Node, path: tuple[Any, ...]) -> int:
    """The 1-based line of the YAML node at ``path`` (or of its nearest parent)."""
    for key in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            match = node.value[key]
        else:
            match = None
        if match is None:
            break
        node = match
    return node.start_mark.line + 1


def _cross_check(rules: RoutingRules) -> list[tuple[tuple[Any, ...], str]]:
    codes = [d.code for d in rules.departments]
    categories = {c.code for d in rules.departments for c in d.categories}
    problems: list[tuple[tuple[Any, ...], str]] = []
    if len(set(codes)) != len(codes):
        problems.append((("departments",), "two departments share a code"))
    if rules.default_department not in codes:
        problems.append(
            (("default_department",), f"unknown department {rules.default_department!r}")
        )
    for index, day in enumerate(rules.working_days):
        if day not in DAYS:
            problems.append((("working_days", index), f"unknown day {day!r}"))
    for section in ("kinds", "places"):
        for index, rule in enumerate(getattr(rules, section)):
            if rule.department not in codes:
                problems.append(((section, index), f"unknown department {rule.department!r}"))
    for d_index, department in enumerate(rules.departments):
        for k_index, keyword in enumerate(department.keywords):
            if keyword.category and keyword.category not in {c.code for c in department.categories}:
                where = ("departments", d_index, "keywords", k_index)
                problems.append(
                    (where, f"category {keyword.category!r} is not {department.code}'s")
                )
    for index, rule in enumerate(rules.priorities):
        for code in rule.categories:
            if code not in categories:
                problems.append((("priorities", index), f"unknown category {code!r}"))
    for index, row in enumerate(rules.sla):
        if row.department != "*" and row.department not in codes:
            problems.append((("sla", index), f"unknown department {row.department!r}"))
    for code, category in rules.service_codes.items():
        if category not in categories:
            problems.append((("service_codes", code), f"unknown category {category!r}"))
    return problems + rules.dedupe.problems(categories)


def _problems(source: str, found: list[tuple[int, str]]) -> ConfigError:
    """Every problem of a rules file, one ``source:line: problem`` a line, in line order
    (a supervisor fixes them all at once instead of one per check)."""
    return ConfigError("\n".join(f"{source}:{line}: {message}" for line, message in sorted(found)))


def parse_rules(text: str, source: str, *, base: Path | None = None) -> RoutingRules:
    """Parse and check a rules file's text; :class:`ConfigError` names source:line: problem."""
    try:
        node = yaml.compose(text)
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise ConfigError(
            f"{source}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from exc
    if node is None or not isinstance(document, dict):
        raise ConfigError(f"{source}:1: the rules file must be a mapping")
    try:
        rules = RoutingRules.model_validate(document)
    except ValidationError as exc:
        found = [
            (_line_of(node, err["loc"]), f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}")
            for err in exc.errors()
        ]
        raise _problems(source, found) from exc
    problems = _cross_check(rules)
    if problems:
        raise _problems(source, [(_line_of(node, path), message) for path, message in problems])
    rules.version = hashlib.sha256(text.encode()).hexdigest()[:12]
    rules.dedupe.know_categories(c.code for d in rules.departments for c in d.categories)
    if rules.holidays_file:
        rules.holidays = load_holidays((base or Path(".")) / rules.holidays_file)
    return rules


def load_holidays(path: Path) -> list[date]:
    """The dates of a holidays file (``holidays: [{date: 2026-12-16, name: …}]``)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return sorted({date.fromisoformat(str(h["date"])) for h in document.get("holidays", [])})
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read holidays: {exc}") from exc


#: The department ``model_only_rules`` leaves unsure tickets in.
TRIAGE = "triage"


def model_only_rules(departments: Iterable[str]) -> RoutingRules:
    """Rules with no keyword, kind or place rule: the learned model decides alone, and
    what it is unsure of waits in ``triage`` (``qanat router eval --rules none``)."""
    codes = sorted({*departments, TRIAGE})
    return RoutingRules(
        default_department=TRIAGE,
        departments=[DepartmentRule(code=c, name_en=c, name_ar=c) for c in codes],
        version="model-only",
    )


def load_rules(path: Path | None = None) -> RoutingRules:
    """Read and check a rules file (None: the shipped sample)."""
    source = path or SAMPLE_RULES
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the rules file: {exc}") from exc
    return parse_rules(text, str(source), base=source.parent)


class RulesSource:
    """The rules in force: a version saved in the store (edited on the settings pages) when
    there is one, else the file, reloaded when it changes; every version seen is kept."""

    def __init__(self, path: Path | None) -> None:
        self.path = path or SAMPLE_RULES
        self.versions: dict[str, RoutingRules] = {}
        self._stamp: tuple[float, int] | None = None
        self._current: RoutingRules | None = None
        #: The id of the stored version in force (None: the file is).
        self.stored_id: int | None = None
        self._stored: RoutingRules | None = None

    def use_stored(self, rules: RoutingRules, stored_id: int) -> None:
        """Put a version saved in the store in force (it wins over the file)."""
        self._stored, self.stored_id = rules, stored_id
        self.versions.setdefault(rules.version, rules)

    def current(self) -> RoutingRules:
        """The rules now; a changed file is reloaded (a broken edit keeps the last good one)."""
        if self._stored is not None:
            return self._stored
        stat = self.path.stat()
        stamp = (stat.st_mtime, stat.st_size)
        if self._current is None or stamp != self._stamp:
            try:
                rules = load_rules(self.path)
            except ConfigError:
                if self._current is None:
                    raise
                return self._current
            self._stamp, self._current = stamp, rules
            self.versions.setdefault(rules.version, rules)
        return self._current
