"""A lint for the page templates: words written straight into a template bypass
translation (an Arabic page would show them in English, or the other way round).

Every word people read must come through ``t(...)``, ``v(...)`` or a name helper. This
finds text between tags and in the attributes people read (``placeholder``, ``title``,
``aria-label``, ``alt``) that holds letters once Jinja's tags are taken out. ``make
lint`` runs it: ``python -m qanat.web.template_lint`` prints ``file:line: text`` and
exits 1 when it finds any.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
#: Attributes whose values people read.
READ_ATTRIBUTES = frozenset({"placeholder", "title", "aria-label", "alt"})
#: Letters of any script qanat writes in.
_LETTERS = re.compile(r"[A-Za-z\u0621-\u064a\u0671-\u06d3]")
#: Text that is not language: an example reference number, a placeholder's name.
_ALLOWED = re.compile(r"^(?:QN-[0-9-]+|\{[a-z_]+\})$")
_JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.S)
#: Blocks that fill an attribute (``<body data-page="{% block page %}…">``), not text.
_ATTRIBUTE_BLOCKS = re.compile(
    r"\{%\s*block\s+(?:page|body_data)\s*%\}.*?\{%\s*endblock\s*%\}", re.S
)
#: Elements whose text is not language: keys on the keyboard, identifiers in code.
SKIPPED = frozenset({"script", "style", "kbd", "code"})


@dataclass(frozen=True)
class Finding:
    """Text in a template that does not go through translation."""

    path: Path
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path.name}:{self.line}: {self.text!r} bypasses translation"


def _blank_jinja(source: str) -> str:
    """The template with Jinja's tags replaced by spaces (lines keep their numbers)."""

    def blank(match: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", match.group(0))

    return _JINJA.sub(blank, _ATTRIBUTE_BLOCKS.sub(blank, source))


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self._skip += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self._keep(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._keep(data)

    def _keep(self, text: str) -> None:
        cleaned = " ".join(text.split())
        if cleaned and _LETTERS.search(cleaned) and not _ALLOWED.match(cleaned):
            self.found.append((self.getpos()[0], cleaned))


def findings(path: Path) -> list[Finding]:
    """Words in one template that bypass translation."""
    reader = _Reader()
    reader.feed(_blank_jinja(path.read_text(encoding="utf-8")))
    reader.close()
    return [Finding(path, line, text) for line, text in reader.found]


def lint(folder: Path = TEMPLATES) -> list[Finding]:
    """Every finding in every template of ``folder``."""
    return [found for path in sorted(folder.glob("*.html")) for found in findings(path)]


def main() -> int:
    """Print the findings; 1 when there are any."""
    found = lint()
    for finding in found:
        print(finding)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
