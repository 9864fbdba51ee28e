"""Email parsing against real-world MIME: Arabic charsets, replies, robots, broken mail."""

from __future__ import annotations

import email
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qanat.errors import BadPayload
from qanat.ingest.email import mime
from qanat.ingest.email.mime import parse_email
from qanat.ingest.email.text import decode_text, html_to_text, strip_quoted_reply
from qanat.model import Inbound

EMAIL_FIXTURES = Path(__file__).parents[2] / "fixtures" / "email"
CPYTHON_SAMPLES = Path(email.__file__).parent.parent / "test" / "test_email" / "data"
RECEIVED = datetime(2025, 11, 20, 9, 0, tzinfo=UTC)


def parse(name: str, **options: object) -> Inbound:
    raw = (EMAIL_FIXTURES / name).read_bytes()
    return parse_email(raw, account="complaints", received_at=RECEIVED, **options)  # type: ignore[arg-type]


def test_windows_1256_body_and_encoded_word_subject() -> None:
    inbound = parse("arabic_windows1256_quoted_printable.eml")
    assert inbound.channel == "email"
    assert inbound.account == "complaints"
    assert inbound.subject == "طفح مجاري في مجمع 305"
    assert inbound.sender.handle == "ahmed.khalifa87@hotmail.com"
    assert inbound.sender.email == "ahmed.khalifa87@hotmail.com"
    assert inbound.sender.name == "أحمد خليفة"
    assert "يوجد طفح مجاري في طريق 45 مجمع 305 منذ يومين" in inbound.text
    assert inbound.external_id == (
        "<DB9P191MB1658A2C4E1F0B2D9C3E4B7A1C1A52@DB9P191MB1658.EURP191.PROD.OUTLOOK.COM>"
    )
    assert inbound.received_at == datetime(2025, 11, 2, 5, 30, 12, tzinfo=UTC)
    assert inbound.metadata["content_language"] == "ar-BH"
    assert "charset_fallback" not in inbound.metadata
    assert inbound.metadata["defects"] == []
    assert inbound.raw == (EMAIL_FIXTURES / "arabic_windows1256_quoted_printable.eml").read_bytes()


def test_utf8_base64_body_and_q_encoded_words() -> None:
    inbound = parse("arabic_utf8_base64.eml")
    assert inbound.subject == "إنارة الشارع مطفأة"
    assert inbound.sender.name == "مريم حسن"
    assert "الإنارة في شارع ٢٨ بمجمع ٣٣٨ (Road 28, Block 338)" in inbound.text
    assert inbound.received_at.utcoffset() == timedelta(hours=3)


def test_iso_8859_6_body_and_subject() -> None:
    inbound = parse("arabic_iso8859_6_8bit.eml")
    assert inbound.subject == "حفرة في الطريق"
    assert inbound.sender.name == "يوسف"
    assert "حفرة كبيرة في طريق 1501 مجمع 915" in inbound.text


def test_alternative_prefers_plain_text_and_sanitizes_the_html() -> None:
    inbound = parse("alternative_arabic_html_with_script.eml")
    assert inbound.metadata["text_source"] == "plain"
    assert inbound.text.startswith("السلام عليكم\nالرصيف أمام مدرسة الحورة للبنات مكسور")
    assert inbound.html is not None
    for dangerous in ("<script", "onerror", "onclick", "javascript:", "document.cookie", "<style"):
        assert dangerous not in inbound.html
    assert 'dir="rtl"' in inbound.html
    assert '<a href="https://maps.example/?q=26.23,50.59"' in inbound.html
    assert "<b>مدرسة الحورة للبنات</b>" in inbound.html


def test_html_only_message_gives_text_for_matching() -> None:
    inbound = parse("html_only_windows1256.eml")
    assert inbound.metadata["text_source"] == "html"
    assert inbound.subject == "تراكم النفايات"
    assert inbound.text.splitlines() == [
        "تحية طيبة،",
        "",
        "نود الإبلاغ عن تراكم النفايات في:",
        "",
        "- مجمع 410 طريق 12",
        "- مجمع 410 طريق 14",
        "",
        "منذ أسبوع & لم تُجمع.",
    ]
    assert inbound.html is not None and "alert" not in inbound.html


def test_rfc_2231_arabic_filenames_and_attachment_hashes() -> None:
    inbound = parse("attachment_rfc2231_arabic_filename.eml")
    photo, report = inbound.attachments
    assert (photo.name, photo.content_type) == ("صورة الحفرة.jpg", "image/jpeg")
    assert (report.name, report.content_type) == (
        "تقرير المعاينة - مجمع 915.pdf",
        "application/pdf",
    )
    assert photo.content is not None and photo.content.startswith(b"\xff\xd8\xff")
    assert report.content is not None and report.content.startswith(b"%PDF-1.4")
    for attachment in (photo, report):
        assert attachment.content is not None
        assert attachment.size == len(attachment.content)
        assert attachment.sha256 == hashlib.sha256(attachment.content).hexdigest()
    assert inbound.text == "مرفق صورة الحفرة وتقرير المعاينة.\nمجمع 915 طريق 1501."


def test_attachment_over_the_limit_keeps_its_record_without_the_bytes() -> None:
    whole = parse("attachment_rfc2231_arabic_filename.eml")
    limited = parse("attachment_rfc2231_arabic_filename.eml", attachment_max_bytes=100)
    photo, report = limited.attachments
    assert photo.content is None
    assert photo.note is not None and "100-byte limit" in photo.note
    assert (photo.size, photo.sha256) == (whole.attachments[0].size, whole.attachments[0].sha256)
    assert report.content == whole.attachments[1].content  # 77 bytes: under the limit


def test_outlook_arabic_reply_keeps_only_the_new_words() -> None:
    inbound = parse("outlook_reply_arabic.eml")
    assert inbound.text == (
        "شكراً لكم، لكن المشكلة ما زالت قائمة حتى اليوم والمياه تتجمع من جديد.\n\nأحمد"
    )
    assert "تم تحويل بلاغكم إلى إدارة الصرف الصحي" in inbound.metadata["full_text"]
    assert inbound.subject == "RE: [QN-2025-000123] Re: طفح مجاري في مجمع 305"
    assert inbound.in_reply_to == [
        "<qn.20251102080501.7f3a9c@qanat.example>",
        "<DB9P191MB1658A2C4E1F0B2D9C3E4B7A1C1A52@DB9P191MB1658.EURP191.PROD.OUTLOOK.COM>",
    ]


def test_outlook_original_message_block_is_cut() -> None:
    inbound = parse("outlook_reply_original_message.eml")
    assert inbound.text.endswith("building 1120.\n\nRegards,\nJohn")
    assert "Original Message" not in inbound.text
    assert "water distribution unit" in inbound.metadata["full_text"]


@pytest.mark.parametrize(
    ("name", "own_words"),
    [
        (
            "gmail_reply_english_ui.eml",
            "Still no one has come to fix the street light. Please send someone this week.",
        ),
        ("gmail_reply_arabic_ui.eml", "تم إصلاح الإنارة، شكراً جزيلاً لسرعة الاستجابة."),
    ],
)
def test_gmail_reply_quote_and_signature_are_cut(name: str, own_words: str) -> None:
    inbound = parse(name)
    assert inbound.text == own_words
    assert inbound.metadata["full_text"].startswith(own_words)
    assert (
        "مريم حسن" in inbound.metadata["full_text"]
        or "Mariam Hasan" in (inbound.metadata["full_text"])
    )
    assert inbound.in_reply_to[0] == "<qn.20251109071500.9d8e7f@qanat.example>"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("auto_reply_out_of_office.eml", "Auto-Submitted: auto-generated"),
        ("auto_reply_subject_only.eml", "out-of-office subject"),
        ("dsn_bounce_of_reply.eml", "Auto-Submitted: auto-replied"),
    ],
)
def test_auto_replies_are_recognised(name: str, reason: str) -> None:
    inbound = parse(name)
    assert inbound.metadata["auto_reply"] is True
    assert inbound.metadata["auto_reply_reason"] == reason


@pytest.mark.parametrize(
    "name",
    [
        "arabic_windows1256_quoted_printable.eml",
        "outlook_reply_arabic.eml",
        "gmail_reply_english_ui.eml",
        "no_message_id.eml",
    ],
)
def test_citizens_mail_is_not_taken_for_an_auto_reply(name: str) -> None:
    inbound = parse(name)
    assert inbound.metadata["auto_reply"] is False
    assert "bounce" not in inbound.metadata


def test_bounce_of_our_reply_names_the_reply_and_the_failure() -> None:
    inbound = parse("dsn_bounce_of_reply.eml")
    assert inbound.metadata["bounce"] == {
        "status": "5.1.1",
        "action": "failed",
        "final_recipient": "hasan.ali@gmial.example",
        "diagnostic": "smtp; 550 5.1.1 <hasan.ali@gmial.example>: Recipient address "
        "rejected: User unknown",
        "original_message_id": "<qn.20251114071959.c0ffee@qanat.example>",
        "ticket_reference": "QN-2025-000160",
    }
    assert inbound.in_reply_to[0] == "<qn.20251114071959.c0ffee@qanat.example>"
    assert "Recipient address rejected" in inbound.text
    assert [a.content_type for a in inbound.attachments] == ["text/rfc822-headers"]


def test_message_without_message_id_gets_a_stable_hash_id() -> None:
    raw = (EMAIL_FIXTURES / "no_message_id.eml").read_bytes()
    first = parse_email(raw, account="a")
    assert first.external_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert parse_email(raw, account="a").external_id == first.external_id
    assert parse_email(raw + b"\r\n", account="a").external_id != first.external_id
    assert first.metadata["reply_to"] == "citizen.saeed@yahoo.example"
    assert first.metadata["message_id"] is None


@pytest.mark.parametrize(
    ("name", "check"),
    [
        (
            "malformed_missing_boundary.eml",
            lambda i: (
                i.text == "انقطاع المياه عن مجمع 512 منذ الصباح."
                and [a.name for a in i.attachments] == ["note.txt"]
                and "NoBoundaryInMultipartDefect" in i.metadata["defects"]
            ),
        ),
        (
            "malformed_no_header_body_separator.eml",
            lambda i: (
                i.text.startswith("شجرة ساقطة تسد طريق 33")
                and "MissingHeaderBodySeparatorDefect" in i.metadata["defects"]
            ),
        ),
        (
            "malformed_lying_charset_latin1_is_utf8.eml",
            lambda i: (
                i.text == "كلاب ضالة قرب حديقة مجمع 360."
                and i.metadata["charset_fallback"] == [{"declared": "iso-8859-1", "used": "utf-8"}]
            ),
        ),
        (
            "malformed_lying_charset_utf8_is_cp1256.eml",
            lambda i: (
                i.text.startswith("تسرب غاز في المبنى 1120")
                and i.metadata["charset_fallback"] == [{"declared": "utf-8", "used": "cp1256"}]
            ),
        ),
        (
            "malformed_invalid_utf8_bytes.eml",
            lambda i: (
                i.text.startswith("المكيفات في مركز صحي")
                and "\ufffd" in i.text
                and i.metadata["charset_fallback"][0]["declared"] == "utf-8"
            ),
        ),
        (
            "malformed_unknown_charset_encoded_word.eml",
            lambda i: (
                i.text == "تلوث بحري قرب ساحل مجمع 228."
                and i.metadata["charset_fallback"][0]["declared"] == "x-arabic-fancy"
                and any(d.startswith("From: CharsetError") for d in i.metadata["defects"])
            ),
        ),
        (
            "malformed_8bit_headers.eml",
            lambda i: (
                i.subject == "مطب عالي في طريق 3901"
                and i.sender.name == "سلمان"
                and "Subject: unencoded 8-bit header read as cp1256" in i.metadata["defects"]
            ),
        ),
        (
            "malformed_bad_base64_body.eml",
            lambda i: (
                i.text.startswith("حاوية القمامة في مجمع 457")
                and "InvalidBase64LengthDefect" in i.metadata["defects"]
            ),
        ),
        (
            "malformed_bad_from_and_date.eml",
            lambda i: (
                i.sender.handle == "unknown"
                and i.sender.email is None
                and i.received_at == RECEIVED
                and "Date: unreadable, the time of receipt is used" in i.metadata["defects"]
            ),
        ),
    ],
)
def test_malformed_mail_is_read_as_well_as_possible(name: str, check: object) -> None:
    inbound = parse(name)
    assert callable(check) and check(inbound), inbound.model_dump(exclude={"raw"})
    assert inbound.raw == (EMAIL_FIXTURES / name).read_bytes()


@pytest.mark.parametrize("raw", [b"", b"  \r\n\r\n\t"])
def test_empty_input_is_not_email(raw: bytes) -> None:
    with pytest.raises(BadPayload, match="empty"):
        parse_email(raw, account="a")


def test_dates_in_the_future_or_missing_fall_back_to_receipt() -> None:
    future = b"From: a@b.example\r\nDate: Mon, 1 Jan 2035 10:00:00 +0000\r\n\r\nhello\r\n"
    missing = b"From: a@b.example\r\n\r\nhello\r\n"
    no_zone = b"From: a@b.example\r\nDate: Sun, 2 Nov 2025 08:00:00 -0000\r\n\r\nhello\r\n"
    assert parse_email(future, account="a", received_at=RECEIVED).received_at == RECEIVED
    assert parse_email(missing, account="a", received_at=RECEIVED).received_at == RECEIVED
    assert parse_email(no_zone, account="a").received_at == datetime(2025, 11, 2, 8, tzinfo=UTC)
    before = datetime.now(UTC)
    assert parse_email(missing, account="a").received_at >= before


def test_envelope_sender_stands_in_for_a_missing_from() -> None:
    inbound = parse_email(
        b"Subject: x\r\n\r\nbody\r\n", account="a", envelope_from="Z@Mail.example"
    )
    assert (inbound.sender.handle, inbound.sender.email) == ("z@mail.example", "z@mail.example")


def test_quote_stripping_keeps_interleaved_answers_and_ordinary_sentences() -> None:
    inline = "> Which block?\nBlock 305.\n> Which road?\nRoad 45."
    assert strip_quoted_reply(inline) == "Block 305.\nRoad 45."
    ordinary = "في مجمع 305 يوجد تسرب مياه منذ 3 أيام.\nكتب الجيران شكوى سابقة أيضاً."
    assert strip_quoted_reply(ordinary) == ordinary
    forward_only = "---------- Forwarded message ---------\nFrom: x\n\nthe real complaint"
    assert strip_quoted_reply(forward_only) == forward_only


def test_html_blockquotes_become_quoted_lines() -> None:
    text = html_to_text("<div>new words</div><blockquote><p>old</p><p>older</p></blockquote>")
    assert text.splitlines() == ["new words", "> old", "", "> older"]
    assert strip_quoted_reply(text) == "new words"


def test_decoding_follows_the_fallback_chain() -> None:
    arabic = "طفح مجاري"
    assert decode_text(arabic.encode("cp1256"), "windows-1256") == (arabic, "cp1256", False)
    assert decode_text(arabic.encode(), "no-such-charset") == (arabic, "utf-8", True)
    assert decode_text(arabic.encode("cp1256"), None) == (arabic, "cp1256", True)
    assert decode_text(b"caf\xe9", "latin-1") == ("café", "iso8859-1", False)
    assert decode_text(b"a\x00b", "utf-8")[0] == "ab"


@pytest.mark.skipif(not CPYTHON_SAMPLES.is_dir(), reason=f"no CPython samples at {CPYTHON_SAMPLES}")
def test_cpython_malformed_samples_never_raise() -> None:
    samples = sorted(path for path in CPYTHON_SAMPLES.iterdir() if path.is_file())
    assert len(samples) > 20
    for path in samples:
        raw = path.read_bytes()
        if not raw.strip():
            continue
        inbound = parse_email(raw, account="a", received_at=RECEIVED)
        assert inbound.raw == raw, path.name


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    try:
        inbound = parse_email(raw, account="a", received_at=RECEIVED)
    except BadPayload:
        assert not raw.strip()
    else:
        assert inbound.raw == raw
        assert not any(d.startswith("parser failed") for d in inbound.metadata["defects"])


FIXTURE_BYTES = [
    (EMAIL_FIXTURES / name).read_bytes()
    for name in ("attachment_rfc2231_arabic_filename.eml", "dsn_bounce_of_reply.eml")
]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(FIXTURE_BYTES),
    st.integers(min_value=1, max_value=3000),
    st.binary(min_size=0, max_size=8),
)
def test_damaged_real_messages_never_raise(original: bytes, cut: int, junk: bytes) -> None:
    damaged = original[: cut % len(original)] + junk + original[cut % len(original) + 3 :]
    if damaged.strip():
        inbound = parse_email(damaged, account="a", received_at=RECEIVED)
        assert inbound.raw == damaged
        assert not any(d.startswith("parser failed") for d in inbound.metadata["defects"])


def test_a_parser_failure_keeps_the_message_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise RecursionError("nested too deep")

    monkeypatch.setattr(mime, "_collect", broken)
    raw = (EMAIL_FIXTURES / "arabic_utf8_base64.eml").read_bytes()
    inbound = parse_email(raw, account="a", received_at=RECEIVED, envelope_from="x@y.example")
    assert inbound.raw == raw
    assert inbound.external_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert inbound.sender.email == "x@y.example"
    assert inbound.metadata["defects"] == ["parser failed: RecursionError: nested too deep"]
