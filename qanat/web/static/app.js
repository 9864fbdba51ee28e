// qanat inbox: keyboard shortcuts and live updates. No inline script anywhere (strict CSP).
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function typing(event) {
    var el = event.target;
    return el.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(el.tagName);
  }

  function plainKey(event) {
    return !(event.ctrlKey || event.metaKey || event.altKey) && !typing(event);
  }

  function api(method, path, body) {
    return fetch(path, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (response) {
      if (!response.ok) { throw new Error(response.status + " " + path); }
      return response.json();
    });
  }

  function listen(after, onEvent) {
    if (!window.EventSource) { return null; }
    var source = new EventSource("/events/stream?after=" + encodeURIComponent(after || "0"));
    ["ticket_created", "ticket_changed"].forEach(function (name) {
      source.addEventListener(name, function (message) {
        onEvent(name, JSON.parse(message.data));
      });
    });
    return source;
  }

  function inbox() {
    var body = document.getElementById("rows");
    var banner = document.getElementById("live");
    var counter = document.getElementById("live-count");
    var selected = -1;
    var arrived = 0;

    function rows() { return Array.prototype.slice.call(body.querySelectorAll("tr[data-reference]")); }
    function current() { return rows()[selected]; }
    function select(n) {
      var all = rows();
      if (!all.length) { return; }
      selected = Math.max(0, Math.min(n, all.length - 1));
      all.forEach(function (row, i) { row.classList.toggle("selected", i === selected); });
      all[selected].scrollIntoView({ block: "nearest" });
    }
    function open(hash) {
      var row = current();
      if (row) { location.href = "/tickets/" + encodeURIComponent(row.dataset.reference) + (hash || ""); }
    }
    function take() {
      var row = current();
      if (!row) { return; }
      var reference = row.dataset.reference;
      api("POST", "/api/tickets/" + encodeURIComponent(reference) + "/take").then(function () {
        refresh([reference], true);
      });
    }
    function resolve() {
      var row = current();
      if (!row) { return; }
      var reference = row.dataset.reference;
      api("PATCH", "/api/tickets/" + encodeURIComponent(reference), { status: "resolved" }).then(function () {
        refresh([reference], true);
      });
    }
    function refresh(references, replace) {
      var wanted = references.filter(function (ref) { return replace || !body.querySelector('tr[data-reference="' + CSS.escape(ref) + '"]'); });
      if (!wanted.length) { return; }
      fetch("/inbox/rows?references=" + encodeURIComponent(wanted.join(",")), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) {
          var holder = document.createElement("tbody");
          holder.innerHTML = html;
          Array.prototype.slice.call(holder.querySelectorAll("tr[data-reference]")).reverse().forEach(function (row) {
            var old = body.querySelector('tr[data-reference="' + CSS.escape(row.dataset.reference) + '"]');
            if (old) {
              row.classList.remove("fresh");
              row.classList.toggle("selected", old.classList.contains("selected"));
              old.replaceWith(row);
              return;
            }
            body.insertBefore(row, body.firstChild);
            arrived += 1;
            if (selected >= 0) { selected += 1; }
          });
          counter.textContent = String(arrived);
          banner.hidden = arrived === 0;
        });
    }

    document.addEventListener("keydown", function (event) {
      if (!plainKey(event)) { return; }
      switch (event.key) {
        case "j": select(selected + 1); break;
        case "k": select(selected - 1); break;
        case "Enter": case "o": open(""); break;
        case "r": open("#reply"); break;
        case "n": open("#note"); break;
        case "a": take(); break;
        case "e": resolve(); break;
        default: return;
      }
      event.preventDefault();
    });
    body.addEventListener("click", function (event) {
      var row = event.target.closest("tr[data-reference]");
      if (row) { select(rows().indexOf(row)); }
    });
    document.getElementById("live-show").addEventListener("click", function (event) {
      event.preventDefault();
      arrived = 0;
      banner.hidden = true;
      select(0);
    });
    listen(document.body.dataset.lastEvent, function (name, data) {
      if (name === "ticket_created") { refresh([data.reference], false); }
      else if (body.querySelector('tr[data-reference="' + CSS.escape(data.reference) + '"]')) { refresh([data.reference], true); }
    });
  }

  function ticket() {
    var reference = document.body.dataset.reference;
    var me = "staff:" + document.body.dataset.username;
    var reply = document.getElementById("reply");
    var note = document.getElementById("note");
    var canned = document.getElementById("canned");

    function submit(id) {
      var form = document.getElementById(id);
      if (form) { form.requestSubmit(); }
    }
    document.addEventListener("keydown", function (event) {
      if (!plainKey(event)) { return; }
      switch (event.key) {
        case "r": if (reply) { reply.focus(); } break;
        case "n": if (note) { note.focus(); } break;
        case "a": submit("take-form"); break;
        case "e": submit("resolve-form"); break;
        default: return;
      }
      event.preventDefault();
    });
    if (canned && reply) {
      canned.addEventListener("change", function () {
        var option = canned.options[canned.selectedIndex];
        if (option && option.dataset.text) {
          reply.value = option.dataset.text;
          reply.focus();
        }
      });
    }
    if (location.hash === "#reply" && reply) { reply.focus(); }
    if (location.hash === "#note" && note) { note.focus(); }
    listen(document.body.dataset.lastEvent, function (name, data) {
      if (data.reference === reference && data.actor !== me) {
        document.getElementById("changed").hidden = false;
      }
    });
  }

  // The public form: fill the map point from the device, when it can tell (no map tiles:
  // the page loads nothing from elsewhere).
  function publicReport() {
    var button = document.getElementById("locate");
    if (!button || !navigator.geolocation) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (position) {
        document.getElementById("lat").value = position.coords.latitude.toFixed(6);
        document.getElementById("lon").value = position.coords.longitude.toFixed(6);
      });
    });
  }

  var page = document.body.dataset.page;
  if (page === "inbox") { inbox(); }
  if (page === "ticket") { ticket(); }
  if (page === "public-report") { publicReport(); }
})();
