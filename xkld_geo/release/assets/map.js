/* The attainment map of an XKLĐ-Geo release: Leaflet (copied into the release) draws the geometry
   file loaded before this script (window.XKLD_GEO); colours come from the release's classes.
   No tile layer and no request outside the release folder; works from file:// too. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("map-config").textContent);
  var geo = window.XKLD_GEO;
  function colour(p) {
    if (p.departures_flag || p.attainment_pct === null || p.attainment_pct === undefined) { return cfg.none; }
    var chosen = cfg.classes[0].colour;
    cfg.classes.forEach(function (c) { if (c.lower === null || p.attainment_pct >= c.lower) { chosen = c.colour; } });
    return chosen;
  }
  function shown(p) {
    if (p.departures_flag) { return p.departures_flag === "c" ? "< " + cfg.threshold : "ẩn"; }
    return p.departures === null ? "–" : p.departures.toLocaleString("vi-VN");
  }
  function tooltip(p) {  // built as DOM text: names never become markup
    var box = document.createElement("div"), title = document.createElement("b");
    title.textContent = p.name;
    box.appendChild(title);
    [["Số người đã đi", shown(p)],
     ["Đạt chỉ tiêu", p.departures_flag || p.attainment_pct === null ? "–"
       : p.attainment_pct.toLocaleString("vi-VN", {maximumFractionDigits: 1}) + "%"]]
      .forEach(function (row) {
        var line = document.createElement("div");
        line.textContent = row[0] + ": " + row[1];
        box.appendChild(line);
      });
    return box;
  }
  var map = L.map("map", {zoomSnap: 0.25, attributionControl: false, preferCanvas: true});
  var layer = L.geoJSON(geo, {
    style: function (f) { return {fillColor: colour(f.properties), fillOpacity: 0.85, color: "#555", weight: 0.8}; },
    onEachFeature: function (f, l) {
      l.bindTooltip(function () { return tooltip(f.properties); }, {sticky: true, className: "xkld-tooltip"});
      l.on("mouseover", function () { l.setStyle({weight: 2.5, color: "#222"}); });
      l.on("mouseout", function () { layer.resetStyle(l); });
      if (cfg.link) { l.on("click", function () { window.location.href = cfg.link.replace("{code}", f.properties.code); }); }
    }
  }).addTo(map);
  (cfg.archipelagos || []).forEach(function (a) {  // named wherever the whole country is shown
    var label = document.createElement("span");
    label.className = "xkld-archipelago";
    label.textContent = a.name;
    L.marker([a.lat, a.lon], {interactive: false, keyboard: false,
      icon: L.divIcon({className: "xkld-archipelago-icon", iconSize: null, html: label})}).addTo(map);
  });
  if (cfg.bounds) { map.fitBounds(cfg.bounds, {padding: [6, 6], animate: false}); }
  else { map.fitBounds(layer.getBounds(), {animate: false}); }
  window.addEventListener("resize", function () { map.invalidateSize(); });
  window.map = map;
  window.xkldFeatureCount = {choropleth: layer.getLayers().length};
})();
