"""Text out of email bodies: charset fallbacks, HTML to text, sanitized HTML, quotes cut.

Pure functions shared by the email parser (:mod:`qanat.ingest.email.mime`). Quotes and
signatures are cut only from the text used for matching; the raw message keeps them.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser

import nh3

#: Charsets a mail client may declare while actually sending UTF-8 or windows-1256
#: (web forms and old scripts often say latin-1 whatever they send).
_WESTERN_CHARSETS = frozenset({"us-ascii", "ascii", "iso8859-1", "latin-1", "cp1252"})

#: Share of undecodable characters under which a body is taken as UTF-8 with a few
#: damaged bytes (a cut multibyte sequence). Arabic in windows-1256 read as UTF-8 is
#: undecodable almost everywhere, so the two cannot be confused at this ratio.
_UTF8_DAMAGE_RATIO = 0.1


def codec_name(charset: str | None) -> str | None:
    """Python's codec name for a declared MIME charset, or None when unknown."""
    if not charset:
        return None
    try:
        return codecs.lookup(charset.strip().strip('"').lower()).name
    except (LookupError, ValueError):
        return None


def _mostly_arabic(text: str) -> bool:
    high = [char for char in text if ord(char) > 0x7F]
    arabic = [char for char in high if "\u0600" <= char <= "\u06ff"]
    return bool(high) and len(arabic) / len(high) >= 0.6


def _utf8_with_damage(payload: bytes) -> str | None:
    text = payload.decode("utf-8", errors="replace")
    damaged = text.count("\ufffd")
    return text if damaged / max(len(text), 1) <= _UTF8_DAMAGE_RATIO else None


def decode_text(payload: bytes, declared: str | None) -> tuple[str, str, bool]:
    """Decode a body or header: declared charset, then UTF-8, then windows-1256.

    Returns the text, the codec used, and whether that differs from the declared
    charset (a fallback the caller flags). Never raises; U+FFFD replaces bytes only
    in text that is UTF-8 but for a few damaged bytes.
    """
    codec = codec_name(declared)
    if codec is None and payload.isascii():
        return _clean(payload.decode("ascii")), "ascii", declared is not None
    expected = codec or "ascii"  # RFC 2045: no charset means US-ASCII
    if codec and not (codec in _WESTERN_CHARSETS and _looks_like_other(payload)):
        try:
            return _clean(payload.decode(codec)), codec, False
        except (UnicodeError, LookupError):  # LookupError: a codec that is not for text
            pass
    try:
        return _clean(payload.decode("utf-8")), "utf-8", expected != "utf-8"
    except UnicodeDecodeError:
        pass
    damaged = _utf8_with_damage(payload)
    if damaged is not None:
        return _clean(damaged), "utf-8 (damaged bytes replaced)", True
    # windows-1256 assigns a character to every byte, so this last step always reads
    # (where latin-1 would otherwise be the last resort) and Arabic comes out right.
    return _clean(payload.decode("cp1256")), "cp1256", expected != "cp1256"


def _looks_like_other(payload: bytes) -> bool:
    # A Western label on bytes that are valid UTF-8, or that read as Arabic in
    # windows-1256, is a lying label: latin-1 would decode them into nonsense.
    if payload.isascii():
        return False
    try:
        payload.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return _cp1256_is_arabic(payload)


def _cp1256_is_arabic(payload: bytes) -> bool:
    try:
        return _mostly_arabic(payload.decode("cp1256"))
    except UnicodeDecodeError:
        return False


def _clean(text: str) -> str:
    # NUL cannot be stored in PostgreSQL text and means nothing in mail.
    return text.replace("\x00", "")


#: Tags that start a new line of text (the split list reads better than a literal).
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt fieldset figcaption figure footer "  # noqa: SIM905
    "form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tbody td tfoot th "
    "thead tr ul".split()
)
#: Blocks followed by an empty line, as a reader sees them.
_PARAGRAPH_TAGS = frozenset(
    {"blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "ol", "p", "pre", "table", "ul"}
)
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "template", "noscript"})


class _TextExtractor(HTMLParser):
    """Collects visible text; blocks become lines, blockquotes become '> ' lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skipping = 0
        self.quote_depth = 0

    def flush(self, *, blank: bool = False) -> None:
        """End the current line; ``blank`` also leaves one empty line after it."""
        line = re.sub(r"[ \t\r\n\u00a0]+", " ", "".join(self.current)).strip()
        if line:
            self.lines.append("> " * self.quote_depth + line)
        if blank and self.lines and self.lines[-1] != "":
            self.lines.append("")
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a block (new line), a quote, or a part to skip."""
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        elif tag == "br":
            # A <br> on an empty line (or <div><br></div>) is how HTML mail skips a line.
            self.flush(blank=not "".join(self.current).strip())
        elif tag in _BLOCK_TAGS:
            self.flush()
            self.quote_depth += tag == "blockquote"
            self.current.append("- " if tag == "li" else "")

    def handle_endtag(self, tag: str) -> None:
        """Close a block, a quote, or a skipped part."""
        if tag in _SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.flush(blank=tag in _PARAGRAPH_TAGS)
            if tag == "blockquote":
                self.quote_depth = max(0, self.quote_depth - 1)

    def handle_data(self, data: str) -> None:
        """Keep visible text."""
        if not self.skipping:
            self.current.append(data)


def html_to_text(html: str) -> str:
    """The visible text of an HTML body, one line per block, for matching and search."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    extractor.flush()
    return "\n".join(extractor.lines).strip()


#: Attributes kept on every tag: direction and language matter for Arabic display.
_GENERIC_ATTRIBUTES = frozenset({"dir", "lang", "title"})


def sanitize_html(html: str) -> str:
    """HTML safe to show in the inbox: no scripts, handlers, styles or odd URL schemes."""
    attributes = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
    attributes["*"] = set(_GENERIC_ATTRIBUTES)
    return nh3.clean(
        html,
        attributes=attributes,
        url_schemes={"http", "https", "mailto", "tel"},
        clean_content_tags={"script", "style", "title", "head"},
    )


#: Lines that open the quoted earlier message in a reply, as mail clients write them.
_QUOTE_OPENERS = (
    re.compile(r"^\s*-{2,}\s*(original message|الرسالة الأصلية)\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*-{2,}\s*(forwarded message|الرسالة المعاد توجيهها)\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*_{10,}\s*$"),
)
_OUTLOOK_FROM = re.compile(r"^\s*\*?(from|من)\s*:\*?\s*\S", re.I)
_OUTLOOK_SENT = re.compile(
    r"^\s*\*?(sent|date|تم الإرسال|تاريخ الإرسال|أرسل|التاريخ|بتاريخ)\s*:", re.I
)
_ATTRIBUTION = re.compile(r"^(on|في)\s.*\d.*(wrote|a écrit|كتب|بواسطة)[^\n]*:$", re.I)
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(sent from my|get outlook for|أرسلت من|أُرسلت من|مرسل من)(\s+\S+){1,4}\s*$", re.I
)


def _outlook_header_at(lines: list[str], index: int) -> bool:
    # "From: …" followed within a few lines by "Sent: …" (or its Arabic form).
    if not _OUTLOOK_FROM.match(lines[index]):
        return False
    return any(_OUTLOOK_SENT.match(line) for line in lines[index + 1 : index + 5])


def _attribution_at(lines: list[str], index: int) -> bool:
    # Gmail/Apple: "On <date> <name> wrote:" / "في <date> كتب <name>:", often wrapped
    # over two or three lines by the client.
    for span in (1, 2, 3):
        joined = " ".join(line.strip() for line in lines[index : index + span])
        if _ATTRIBUTION.match(joined):
            return True
    return False


def _quote_starts(lines: list[str], index: int) -> bool:
    line = lines[index]
    if line in ("-- ", "--") or _MOBILE_SIGNATURE.match(line):
        return True
    return (
        any(pattern.match(line) for pattern in _QUOTE_OPENERS)
        or _outlook_header_at(lines, index)
        or _attribution_at(lines, index)
    )


def strip_quoted_reply(text: str) -> str:
    """The sender's own words: earlier messages quoted below a reply and signatures cut.

    Cuts at the first reply header (Outlook's From/Sent block or "Original Message",
    Gmail's "On … wrote:" / "في … كتب:") or signature delimiter ("-- "), and drops
    lines quoted with ">". When nothing of the sender's own is left (a bare forward),
    the full text is returned so the message still has something to match on.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _quote_starts(lines, index):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line.rstrip())
    own = "\n".join(kept).strip()
    return re.sub(r"\n{3,}", "\n\n", own) if own else text.strip()
