"""Maps on qanat's pages: Leaflet (an OpenStreetMap map library) served from qanat's own
static files — the ``XStatic-Leaflet`` package ships it — and tiles from the server
``QANAT_MAP_TILES`` names.

With no tile server set, a map shows its markers on a blank ground and the page loads
nothing from elsewhere (the tests run that way). With one set, the map pages' Content
Security Policy lets images come from that server only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import xstatic.pkg.leaflet as leaflet
from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from qanat.config import Settings
from qanat.web.safety import CSP

#: Where Leaflet's files are served (``leaflet.js``, ``leaflet.css``, ``images/``).
LEAFLET_PATH = "/assets/leaflet"
LEAFLET_VERSION = leaflet.VERSION


def mount_leaflet(app: FastAPI) -> None:
    """Serve Leaflet's files from the installed package."""
    app.mount(LEAFLET_PATH, StaticFiles(directory=leaflet.BASE_DIR), name="leaflet")


def tile_origin(template: str) -> str | None:
    """The scheme and host tiles come from (``https://tile.example.bh``), if any."""
    parts = urlsplit(template)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return None
    # A {s} subdomain placeholder means any subdomain of the host.
    host = parts.netloc.replace("{s}.", "*.")
    return f"{parts.scheme}://{host}"


def map_context(settings: Settings) -> dict[str, Any]:
    """What a page with a map needs: Leaflet's address and the tile settings."""
    return {
        "leaflet": LEAFLET_PATH,
        "leaflet_version": LEAFLET_VERSION,
        "map_tiles": settings.map_tiles if tile_origin(settings.map_tiles) else "",
        "map_attribution": settings.map_attribution,
    }


def with_map_policy(response: Response, settings: Settings) -> Response:
    """The page's policy, widened to the tile server's images when one is set."""
    origin = tile_origin(settings.map_tiles)
    if origin is not None:
        response.headers["Content-Security-Policy"] = CSP.format(images=f" {origin}")
    return response
