"""Names instead of codes: departments, categories, staff, actors and places as people read
them, in the page's language.

Pages take :data:`NamesDep` and hand it to :func:`qanat.web.templating.page`, which gives
templates ``dept(code)``, ``category(code)``, ``person(username)``, ``actor(actor)`` and
``place(name)``. A code nobody named is shown as it is (the Arabic-pages test finds it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import select

from qanat.normalize.location import load_gazetteer
from qanat.store.tables import Department, User
from qanat.web.deps import runtime_of

#: Actors of events that are qanat itself, by the part before any ``:``.
SYSTEM_ACTORS = frozenset(
    {"pipeline", "router", "dedupe", "sweep", "sla", "reconcile", "intake", "anonymous", "qanat"}
)


@cache
def place_names() -> dict[str, str]:
    """English area and governorate names of the gazetteer → their Arabic names."""
    names: dict[str, str] = {}
    for area in load_gazetteer():
        names[area.area_en.casefold()] = area.area_ar
        names[area.governorate_en.casefold()] = area.governorate_ar
    return names


@dataclass(frozen=True)
class Names:
    """What codes stand for: departments and categories (Arabic, English), staff names."""

    departments: dict[str, tuple[str, str]] = field(default_factory=dict)
    categories: dict[str, tuple[str, str]] = field(default_factory=dict)
    staff: dict[str, str] = field(default_factory=dict)

    def department(self, language: str, code: str | None) -> str:
        """A department's name (its code when unknown; '' for none)."""
        if not code:
            return ""
        pair = self.departments.get(code)
        return (pair[0] if language == "ar" else pair[1]) if pair else code

    def category(self, language: str, code: str | None) -> str:
        """A category's name from the rules (its code when unknown)."""
        if not code:
            return ""
        pair = self.categories.get(code)
        return (pair[0] if language == "ar" else pair[1]) if pair else code

    def person(self, username: str | None) -> str:
        """A member of staff's display name (the username when unknown)."""
        if not username:
            return ""
        return self.staff.get(username, username)

    def actor(self, language: str, actor: str | None, system: dict[str, str]) -> str:
        """Who did something: a person's name, a token's owner, or qanat's part by name.

        ``system`` names qanat's own parts and channels in ``language``.
        """
        kind, _, rest = (actor or "").partition(":")
        if kind == "staff":
            return self.person(rest)
        if kind == "token":
            return self.person(rest.partition(":")[2] or rest)
        return system.get(kind, actor or "")


def place(language: str, name: str | None) -> str:
    """An area or governorate in ``language`` (Arabic from the gazetteer when known)."""
    if not name:
        return ""
    if language != "ar":
        return name
    return place_names().get(name.casefold(), name)


async def get_names(request: Request) -> Names:
    """The names of departments (from the store), categories (the rules) and staff."""
    runtime = runtime_of(request)
    rules = runtime.rules()
    async with runtime.db.session() as session:
        departments = {
            code: (ar, en)
            for code, ar, en in await session.execute(
                select(Department.code, Department.name_ar, Department.name_en)
            )
        }
        staff = {
            username: name
            for username, name in await session.execute(select(User.username, User.display_name))
        }
    categories = {c.code: (c.name_ar, c.name_en) for d in rules.departments for c in d.categories}
    for d in rules.departments:  # a department only the rules know yet
        departments.setdefault(d.code, (d.name_ar, d.name_en))
    return Names(departments=departments, categories=categories, staff=staff)


NamesDep = Annotated[Names, Depends(get_names)]
