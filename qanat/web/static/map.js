// qanat maps: Leaflet from qanat's own files; tiles only when the page names a tile
// server (QANAT_MAP_TILES), else the markers on a blank ground. No inline script (CSP).
(function () {
  "use strict";
  var COLOURS = { inspection: "#0b6e4f", overdue: "#b42318", visit: "#1f6feb", far: "#b54708", here: "#6f42c1" };
  var BAHRAIN = [26.07, 50.55];

  function pointsOf(box) {
    var list = box.nextElementSibling;
    if (!list || !list.classList.contains("map-points")) { return []; }
    return Array.prototype.map.call(list.querySelectorAll("li"), function (item) {
      return {
        lat: parseFloat(item.dataset.lat), lon: parseFloat(item.dataset.lon),
        kind: item.dataset.kind, label: item.dataset.label, href: item.dataset.href
      };
    }).filter(function (p) { return isFinite(p.lat) && isFinite(p.lon); });
  }

  // A marker's label is people's text: shown as text (never as HTML), in its own direction.
  function label(text) {
    var span = document.createElement("span");
    span.dir = "auto";
    span.textContent = text || "";
    return span;
  }

  function draw(box) {
    if (!window.L) { return; }
    var map = L.map(box, { attributionControl: Boolean(box.dataset.attribution), zoomControl: false });
    // The zoom buttons in the page's language, at the start of the line (right in Arabic).
    L.control.zoom({
      zoomInTitle: box.dataset.zoomIn, zoomOutTitle: box.dataset.zoomOut,
      position: document.documentElement.dir === "rtl" ? "topright" : "topleft"
    }).addTo(map);
    if (box.dataset.tiles) {
      L.tileLayer(box.dataset.tiles, { attribution: box.dataset.attribution, maxZoom: 19 }).addTo(map);
    }
    var markers = pointsOf(box).map(function (p) {
      var colour = COLOURS[p.kind] || COLOURS.inspection;
      var marker = L.circleMarker([p.lat, p.lon], { radius: 9, color: colour, fillColor: colour, fillOpacity: 0.6 });
      marker.bindTooltip(label(p.label));
      if (p.href) { marker.on("click", function () { window.location.href = p.href; }); }
      return marker.addTo(map);
    });
    if (markers.length) {
      map.fitBounds(L.featureGroup(markers).getBounds().pad(0.3), { maxZoom: 16 });
    } else {
      map.setView(BAHRAIN, 10);
    }
    box.dataset.markers = String(markers.length);
  }

  Array.prototype.forEach.call(document.querySelectorAll(".map"), draw);
})();
