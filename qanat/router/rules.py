"""The routing rules file: departments and the keywords that send tickets to them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from qanat.errors import ConfigError

SAMPLE_RULES = Path(__file__).parent / "sample_rules.yaml"


class DepartmentRule(BaseModel):
    """A department and the words that name its work."""

    code: str
    name_en: str
    name_ar: str
    email: str | None = None
    keywords: list[str] = Field(default_factory=list)


class RoutingRules(BaseModel):
    """A parsed rules file, with the version that decisions record."""

    version: str = ""
    default_department: str
    departments: list[DepartmentRule]


def load_rules(path: Path | None = None) -> RoutingRules:
    """Read and check a rules file (None: the shipped sample)."""
    source = path or SAMPLE_RULES
    text = source.read_text(encoding="utf-8")
    try:
        rules = RoutingRules.model_validate(yaml.safe_load(text))
    except Exception as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    rules.version = hashlib.sha256(text.encode()).hexdigest()[:12]
    return rules
