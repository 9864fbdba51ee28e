"""What an Arabic page must never show: a department's code or a message key.

A key shows when ``t()`` is asked for words nobody wrote (it answers with the key); a
code shows when a template prints a department's code instead of its name. Only what
people read is looked at: text between tags and the attributes read aloud or shown
(``placeholder``, ``title``, ``aria-label``, ``alt``), leaving out what people typed
(``data-typed``), names (``<bdi>``), and code-like parts (``<code>``, ``<kbd>``).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from qanat.web import i18n

READ_ATTRIBUTES = frozenset({"placeholder", "title", "aria-label", "alt"})
SKIPPED_TAGS = frozenset({"script", "style", "bdi", "code", "kbd", "textarea", "time"})
VOID = frozenset({"br", "img", "input", "meta", "link", "hr", "source", "wbr"})
#: Every message key and every value name (status, kind, channel, role …).
KEYS = frozenset(i18n.TEXTS) | frozenset(i18n.VALUE_TEXTS)
#: An identifier written with underscores (``call_centre``, ``view_ticket``).
SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self._stack: list[bool] = []  # per open element: is its content skipped?

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        skipped = bool(self._stack and self._stack[-1])
        skipped = skipped or tag in SKIPPED_TAGS or "data-typed" in named
        if not skipped:
            self.text += [v for k, v in attrs if k in READ_ATTRIBUTES and v]
        if tag not in VOID:
            self._stack.append(skipped)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self._stack and self._stack[-1]):
            self.text.append(data)


def visible_text(html: str) -> str:
    """The words people read on a page."""
    reader = _Visible()
    reader.feed(html)
    reader.close()
    return " ".join(" ".join(reader.text).split())


def leaks(html: str, *, codes: set[str]) -> list[str]:
    """Department codes and message keys (or any snake_case identifier) shown on a page."""
    found = []
    for token in re.findall(r"[A-Za-z][A-Za-z0-9_]*", visible_text(html)):
        if len(token) > 1 and (token in codes or token in KEYS or SNAKE.match(token)):
            found.append(token)
    return sorted(set(found))
