/* XKLĐ-Geo's map component (xkld_geo/ui/map_component.py): plain JavaScript, no build step.

It speaks Streamlit's component protocol (the messages of streamlit-component-lib: componentReady,
render, setComponentValue, setFrameHeight) and draws the page folium writes for a map
(xkld_geo/maps): its head and body are copied into this frame and their scripts run in order,
Leaflet and TopoJSON from the app's own static folder. The map is drawn once per frame; a render
that brings other values (the "values" argument: the script of maps.ChoroplethValues) only runs
that script, which repaints the drawn shapes and keeps the zoom and position.

What the map reports (its "returned" names) mirrors streamlit-folium's names:
last_clicked, last_object_clicked, last_object_clicked_tooltip, last_active_drawing (the GeoJSON
feature of the clicked shape, its properties included), bounds, zoom, center. */
(function () {
  "use strict";
  var state = {frame: null, map: null, loading: false, latest: null, values: null, height: null,
               returned: [], sent: null, data: {}};

  function send(type, fields) {
    var message = {isStreamlitMessage: true, type: type};
    for (var k in fields) { message[k] = fields[k]; }
    window.parent.postMessage(message, "*");
  }

  function frameHeight(height) {
    if (height !== state.height) {
      state.height = height;
      // the body (and the map, 100% of it) gets its height at once, before the frame is resized:
      // a map made in a frame still 0 px high would fit its bounds to nothing
      var style = document.getElementById("xkld-height") || document.head.appendChild(document.createElement("style"));
      style.id = "xkld-height";
      style.textContent = "html, body { height: " + height + "px !important; }";
      send("streamlit:setFrameHeight", {height: height});
      if (state.map) { state.map.invalidateSize(); }
    }
  }

  function report() {
    var map = state.map, out = {}, all;
    if (!map) { return; }
    all = {
      last_clicked: state.data.last_clicked || null,
      last_object_clicked: state.data.last_object_clicked || null,
      last_object_clicked_tooltip: state.data.last_object_clicked_tooltip || null,
      last_active_drawing: state.data.last_active_drawing || null,
      bounds: map.getBounds(), zoom: map.getZoom(), center: map.getCenter()
    };
    state.returned.forEach(function (name) { if (name in all) { out[name] = all[name]; } });
    var text = JSON.stringify(out);
    if (text !== state.sent) {
      state.sent = text;
      send("streamlit:setComponentValue", {value: JSON.parse(text), dataType: "json"});
    }
  }

  var timer = null;
  function later() {   // clicks and moves come in bursts: one report after a quarter second
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { timer = null; report(); }, 250);
  }

  function onLayerClick(e) {
    state.data.last_object_clicked = e.latlng || null;
    var target = e.layer || e.sourceTarget || e.target;
    try {
      var tip = target && target.getTooltip && target.getTooltip();
      if (tip) {
        var content = tip.getContent();
        if (typeof content === "function") { content = content(target); }
        var span = document.createElement("span");
        if (typeof content === "string") { span.innerHTML = content; } else if (content) { span.appendChild(content.cloneNode(true)); }
        state.data.last_object_clicked_tooltip = (span.textContent || "").trim();
      }
    } catch (err) { console.log(err); }
    if (e.layer && typeof e.layer.toGeoJSON === "function") {
      state.data.last_active_drawing = e.layer.toGeoJSON();
    }
    later();
  }

  function listen(layer) {
    if (layer && typeof layer.on === "function" && !layer._xkldListened) {
      layer._xkldListened = true;
      layer.on("click", onLayerClick);
    }
  }

  function runValues(values) {
    if (values === state.values) { return; }
    state.values = values;
    if (values) { (0, eval)(values); }   // global scope, as a page's script would run
  }

  /* Copy the nodes of a parsed page into this document; scripts are made anew so that they run,
     each one with a src awaited before the next. */
  function copyNodes(nodes, into) {
    return nodes.reduce(function (done, node) {
      return done.then(function () {
        if (node.nodeName !== "SCRIPT") {
          into.appendChild(document.importNode(node, true));
          return null;
        }
        var script = document.createElement("script");
        if (node.src) {
          return new Promise(function (resolve) {
            script.src = node.getAttribute("src");
            script.onload = resolve;
            script.onerror = resolve;   // a missing asset leaves the map without it, as a page would
            into.appendChild(script);
          });
        }
        script.text = node.textContent;
        into.appendChild(script);
        return null;
      });
    }, Promise.resolve());
  }

  function draw(args) {
    state.loading = true;
    state.returned = args.returned || [];
    state.sent = JSON.stringify(args["default"] || {});   // what Python has already: no rerun for it
    frameHeight(args.height);
    var page = new DOMParser().parseFromString(args.page, "text/html");
    copyNodes(Array.prototype.slice.call(page.head.childNodes), document.head).then(function () {
      return copyNodes(Array.prototype.slice.call(page.body.childNodes), document.body);
    }).then(function () {
      var map = window[args.map];
      state.loading = false;
      if (!map) { console.log("xkld map: no map named " + args.map); return; }
      state.map = window.map = map;   // window.map: the drawn map, for the browser tests
      map.eachLayer(listen);
      map.on("layeradd", function (e) { listen(e.layer); });
      map.on("click", function (e) { state.data.last_clicked = e.latlng; later(); });
      map.on("moveend", later);
      map.invalidateSize();
      update(state.latest || args);
      report();
    });
  }

  function update(args) {
    state.returned = args.returned || [];
    frameHeight(args.height);
    runValues(args.values || "");
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || data.type !== "streamlit:render") { return; }
    var args = data.args || {};
    if (state.frame && args.frame !== state.frame) {   // another map in this frame: draw it afresh
      window.location.reload();
      return;
    }
    state.frame = args.frame;
    state.latest = args;
    if (state.map) { update(args); } else if (!state.loading) { draw(args); }
  });
  send("streamlit:componentReady", {apiVersion: 1});
})();
