"""Maps: Leaflet from qanat's own files, tiles only from the server the settings name."""

from __future__ import annotations

from fastapi.responses import HTMLResponse

from qanat.config import load_settings
from qanat.web.maps import LEAFLET_PATH, map_context, tile_origin, with_map_policy


def test_only_the_tile_server_is_let_in() -> None:
    assert tile_origin("https://tile.example.bh/{z}/{x}/{y}.png") == "https://tile.example.bh"
    assert (
        tile_origin("https://{s}.tiles.example.bh/{z}/{x}/{y}.png") == "https://*.tiles.example.bh"
    )
    assert tile_origin("javascript:alert(1)") is None and tile_origin("") is None
    settings = load_settings(map_tiles="https://tile.example.bh/{z}/{x}/{y}.png")
    policy = with_map_policy(HTMLResponse("x"), settings).headers["content-security-policy"]
    assert "img-src 'self' data: https://tile.example.bh;" in policy
    assert "script-src 'self';" in policy and "connect-src 'self';" in policy
    assert map_context(settings)["map_tiles"].startswith("https://tile.example.bh/")


def test_without_tiles_the_policy_stays_as_it_is() -> None:
    settings = load_settings(map_tiles="")
    response = with_map_policy(HTMLResponse("x"), settings)
    assert "content-security-policy" not in response.headers  # the site-wide one applies
    bad = load_settings(map_tiles="ftp://tiles.example.bh/{z}/{x}/{y}.png")
    assert map_context(bad)["map_tiles"] == "" and map_context(bad)["leaflet"] == LEAFLET_PATH
