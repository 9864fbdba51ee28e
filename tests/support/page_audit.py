"""Reading a page in Chromium as people see it, after its script ran: the words shown
(text, read-aloud attributes, options, words kept for scripts), whether it fits the window,
whether references are set apart, and what went wrong in its console.

People's own words and names are not looked at: ``<bdi>``, ``dir="auto"``, ``data-typed``,
``<code>``, ``<kbd>``, and parts in another language on purpose (``lang`` on an element).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.browser.conftest import wider_than_the_window

HERE = Path(__file__).parent

#: Latin words an Arabic page may show: the seed data's proper names, the names of
#: standards and file formats Arabic writes in Latin letters, a key on the keyboard.
ALLOWED = frozenset(
    {"Sara", "Ahmed", "Fatima", "Ali", "Open311", "CSV", "YAML", "IP", "ZIP", "QR", "Enter"}
)
#: Data, taken out before looking for words: references, e-mail and web addresses,
#: usernames in @ form, file names, and the {placeholders} scripts fill in.
DATA = re.compile(
    r"QN-\d{4}-\d{6}|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|https?://\S+|/[\w./?=&%-]*|@\w+"
    r"|\w+\.(?:png|jpe?g|csv|yaml)|\{\w+\}"
)
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'’]+")
ARABIC_LETTER = re.compile(r"[\u0600-\u06ff]")

#: What people read on the page after its script ran, minus what people wrote and names
#: (``<bdi>``, ``dir="auto"``, ``data-typed``), code (``<code>``, ``<kbd>``), and parts in
#: another language on purpose (the language switch, ``lang="en"`` inside an Arabic page).
READ_THE_PAGE = (HERE / "read_the_page.js").read_text(encoding="utf-8")
#: The first elements that stick out of the window (their parent does not), to name them.
STICKING_OUT = (HERE / "sticking_out.js").read_text(encoding="utf-8")


def latin_words(texts: list[str]) -> list[str]:
    """Latin words in ``texts`` that are neither data nor allowed."""
    words = []
    for text in texts:
        bare = DATA.sub(" ", text.split("=", 1)[1] if re.match(r"^[a-z-]+=", text) else text)
        words += [w for w in LATIN_WORD.findall(bare) if w not in ALLOWED]
    return sorted(set(words))


def arabic_texts(texts: list[str]) -> list[str]:
    """Texts with Arabic letters (on an English page)."""
    return sorted({text[:60] for text in texts if ARABIC_LETTER.search(text)})


@dataclass
class Watched:
    """A page whose console errors and failed loads are written down."""

    page: Any
    errors: list[str] = field(default_factory=list)

    def take_errors(self) -> list[str]:
        found, self.errors[:] = list(self.errors), []
        return found


def watch(page: Any) -> Watched:
    """Note console errors, script errors and failed loads of a page's parts."""
    watched = Watched(page)

    def on_console(message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            watched.errors.append(message.text)

    def on_response(response: Any) -> None:
        request = response.request
        part = request.resource_type != "document" and "/api/" not in request.url
        if response.status >= 400 and part and not request.url.endswith("/favicon.ico"):
            watched.errors.append(f"{response.status} {request.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    page.on("response", on_response)
    page.set_default_timeout(10_000)
    return watched


def settled(watched: Watched, url: str) -> None:
    """Open ``url`` and wait for what its script draws (maps)."""
    page = watched.page
    page.goto(url)
    if page.locator(".map").count() and page.locator(".map-points li").count():
        page.wait_for_selector(".map[data-markers]")


def audit(watched: Watched, url: str, language: str, sizes: list[dict[str, int]]) -> list[str]:
    """What is wrong with the page at ``url`` in ``language``, opened at the first of
    ``sizes`` and then made each of the others (the words do not change with the width)."""
    watched.page.set_viewport_size(sizes[0])
    settled(watched, url)
    return look(watched, language, sizes)


def look(watched: Watched, language: str, sizes: list[dict[str, int]]) -> list[str]:
    """What is wrong with the page shown now, in ``language``, at each of ``sizes``."""
    seen = watched.page.evaluate(READ_THE_PAGE)
    problems = []
    wanted = {"ar": ("ar", "rtl"), "en": ("en", "ltr")}[language]
    if (seen["lang"], seen["dir"]) != wanted:
        problems.append(f"lang={seen['lang']} dir={seen['dir']}")
    if language == "ar" and (words := latin_words(seen["texts"])):
        problems.append(f"Latin words {words}")
    if language == "ar" and seen["unisolated"]:
        problems.append(f"references not isolated {sorted(set(seen['unisolated']))}")
    if language == "en" and (texts := arabic_texts(seen["texts"])):
        problems.append(f"Arabic texts {texts}")
    for size in sizes:
        watched.page.set_viewport_size(size)
        if wider_than_the_window(watched.page):
            sticking = watched.page.evaluate(STICKING_OUT)
            problems.append(f"wider than {size['width']} px: {sticking}")
    if errors := watched.take_errors():
        problems.append(f"console {errors}")
    return problems


def audit_all(
    watched: Watched, base: str, paths: list[str], language: str, who: str, sizes: Any
) -> dict[str, Any]:
    """What is wrong with each of ``paths``, as ``who`` sees it."""
    found = {}
    for path in paths:
        if problems := audit(watched, f"{base}{path}", language, sizes):
            found[f"{path} ({who})"] = problems
    return found


def report(found: dict[str, Any]) -> str:
    """One line per page and problem."""
    return "\n".join(
        f"{path}: {problem}" for path, problems in found.items() for problem in problems
    )


def said(watched: Watched, selector: str) -> str:
    """The text of ``selector`` once it shows."""
    watched.page.wait_for_selector(selector, state="visible")
    return str(watched.page.inner_text(selector)).strip()


def in_arabic(text: str) -> bool:
    """Arabic words and no Latin word that is not data."""
    return bool(ARABIC_LETTER.search(text)) and latin_words([text]) == []
