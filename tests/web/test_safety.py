"""Sanitizing citizens' HTML, neutralising bidi overrides, and the security headers."""

from __future__ import annotations

import pytest

from qanat.web.safety import (
    bdi,
    has_remote_images,
    sanitize_email_html,
    security_headers,
    strip_bidi,
)


@pytest.mark.parametrize(
    "hostile",
    [
        '<img src=x onerror="window.pwned=1">',
        "<script>window.pwned=1</script>",
        '<a href="javascript:window.pwned=1">x</a>',
        '<svg onload="window.pwned=1"></svg>',
        '<iframe src="https://evil.example"></iframe>',
        '<form action="https://evil.example"><input name=p></form>',
        '<div style="background:url(https://evil.example/x)">x</div>',
        '<meta http-equiv="refresh" content="0;url=https://evil.example">',
        '<base href="https://evil.example/">',
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    ],
)
def test_nothing_that_runs_or_loads_survives(hostile: str) -> None:
    cleaned = str(sanitize_email_html(hostile))
    for marker in ("onerror", "onload", "<script", "javascript:", "<iframe", "<form", "<input",
                   "style=", "<meta", "<base", "evil.example", "data:text"):  # fmt: skip
        assert marker not in cleaned, (hostile, cleaned)


def test_formatting_and_links_are_kept() -> None:
    cleaned = str(
        sanitize_email_html('<p dir="rtl"><b>عاجل</b> <a href="https://gov.bh/x">الرابط</a></p>')
    )
    assert "<b>عاجل</b>" in cleaned
    assert 'href="https://gov.bh/x"' in cleaned and 'rel="noopener noreferrer nofollow"' in cleaned


def test_remote_images_only_on_request() -> None:
    html = '<img src="https://cdn.example/p.png" alt="p"><img src="data:image/png;base64,AAAA">'
    assert has_remote_images(html)
    blocked = str(sanitize_email_html(html))
    assert "cdn.example" not in blocked and "data:image/png;base64,AAAA" in blocked
    loaded = str(sanitize_email_html(html, load_images=True))
    assert 'src="https://cdn.example/p.png"' in loaded
    plain = str(sanitize_email_html('<img src="http://cdn.example/p.png">', load_images=True))
    assert "cdn.example" not in plain  # never over plain http
    assert not has_remote_images('<img src="data:image/png;base64,AAAA">')


def test_svg_data_images_are_dropped() -> None:
    cleaned = str(sanitize_email_html('<img src="data:image/svg+xml;base64,PHN2Zz4=">'))
    assert "svg" not in cleaned


def test_bidi_overrides_are_removed_and_names_isolated() -> None:
    disguised = "invoice\u202egpj.exe\u202c \u2066x\u2069"
    assert strip_bidi(disguised) == "invoicegpj.exe x"
    assert str(bdi("<b>هدى\u202e</b>")) == '<bdi dir="auto">&lt;b&gt;هدى&lt;/b&gt;</bdi>'
    assert strip_bidi(None) == ""


def test_headers_widen_images_only_when_asked() -> None:
    plain = dict(security_headers("/tickets/QN-1", ""))
    policy = plain[b"content-security-policy"].decode()
    assert "img-src 'self' data:;" in policy and "script-src 'self';" in policy
    assert plain[b"x-frame-options"] == b"DENY"
    loaded = dict(security_headers("/tickets/QN-1", "images=1"))
    assert b"img-src 'self' data: https:;" in loaded[b"content-security-policy"]
