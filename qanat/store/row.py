"""The base of every table: a row made without pydantic's cost per default factory.

Making a table row, SQLModel asks each field left out for its default, and pydantic
works out at every call, from the factory's signature, whether the factory wants the
data validated so far: about 75 µs a field (``list`` and ``utcnow``), a third of the
CPU a ticket took to make. A row here calls its fields' factories itself (none takes
data), so SQLModel finds every field given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import SQLModel

_FACTORIES: dict[type, tuple[tuple[str, Callable[[], Any]], ...]] = {}


def _factories(table: type[SQLModel]) -> tuple[tuple[str, Callable[[], Any]], ...]:
    found = _FACTORIES.get(table)
    if found is None:
        found = tuple(
            (name, field.default_factory)  # type: ignore[misc]
            for name, field in table.model_fields.items()
            if field.default_factory is not None and field.alias in (None, name)
        )
        _FACTORIES[table] = found
    return found


class Row(SQLModel):
    """A table's row (subclass with ``table=True``): see the module docstring."""

    def __init__(self, **values: Any) -> None:
        for name, factory in _factories(type(self)):
            if name not in values:
                values[name] = factory()
        super().__init__(**values)
