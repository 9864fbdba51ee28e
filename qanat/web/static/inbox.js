// The list: keyboard moves, multi-select and bulk actions, live arrivals and queue counts.
(function () {
  "use strict";
  var q = window.qanat;
  var body = document.getElementById("rows");
  var banner = document.getElementById("live");
  var counter = document.getElementById("live-count");
  var bulk = document.getElementById("bulk");
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
  function picked() {
    return Array.prototype.slice.call(body.querySelectorAll(".pick-row:checked")).map(function (box) { return box.value; });
  }
  function showBulk() {
    if (!bulk) { return; }
    var count = picked().length;
    document.getElementById("picked-count").textContent = String(count);
    bulk.hidden = count === 0;
    var all = document.getElementById("pick-all");
    if (all) { all.checked = count > 0 && count === rows().length; }
  }
  function showBulkFields() {
    var action = document.getElementById("bulk-action").value;
    Array.prototype.forEach.call(bulk.querySelectorAll("[data-for]"), function (field) {
      field.hidden = field.dataset.for.split(" ").indexOf(action) < 0;
    });
  }
  function take() {
    var row = current();
    if (!row) { return; }
    var reference = row.dataset.reference;
    q.api("POST", "/api/tickets/" + encodeURIComponent(reference) + "/take").then(function () {
      refresh([reference], true);
    });
  }
  function resolve() {
    var row = current();
    if (!row) { return; }
    var reference = row.dataset.reference;
    q.api("PATCH", "/api/tickets/" + encodeURIComponent(reference), { status: "resolved" }).then(function () {
      refresh([reference], true);
    });
  }
  function refresh(references, replace) {
    var wanted = references.filter(function (ref) { return replace || !body.querySelector('tr[data-reference="' + CSS.escape(ref) + '"]'); });
    if (!wanted.length) { return Promise.resolve(); }
    return fetch("/inbox/rows?references=" + encodeURIComponent(wanted.join(",")), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        var holder = document.createElement("tbody");
        holder.innerHTML = html;
        Array.prototype.slice.call(holder.querySelectorAll("tr[data-reference]")).reverse().forEach(function (row) {
          var old = body.querySelector('tr[data-reference="' + CSS.escape(row.dataset.reference) + '"]');
          if (old) {
            row.classList.remove("fresh");
            row.classList.toggle("selected", old.classList.contains("selected"));
            var box = old.querySelector(".pick-row");
            var fresh = row.querySelector(".pick-row");
            if (box && fresh) { fresh.checked = box.checked; }
            old.replaceWith(row);
            return;
          }
          body.insertBefore(row, body.firstChild);
          arrived += 1;
          if (selected >= 0) { selected += 1; }
        });
        counter.textContent = String(arrived);
        banner.hidden = arrived === 0;
        showBulk();
      });
  }

  // Queue counts follow what happens, at most every two seconds.
  var countsDue = null;
  function refreshCounts() {
    if (countsDue) { return; }
    countsDue = setTimeout(function () {
      countsDue = null;
      q.api("GET", "/api/inbox/counts").then(function (data) {
        Object.keys(data.counts).forEach(function (queue) {
          var place = document.querySelector('.count[data-queue="' + queue + '"]');
          var count = data.counts[queue];
          if (place) { place.textContent = count > data.cap ? data.cap + "+" : String(count); }
        });
      });
    }, 2000);
  }

  document.addEventListener("keydown", function (event) {
    if (!q.plainKey(event)) { return; }
    switch (event.key) {
      case "j": select(selected + 1); break;
      case "k": select(selected - 1); break;
      case "Enter": case "o": open(""); break;
      case "r": open("#reply"); break;
      case "n": open("#note"); break;
      case "a": take(); break;
      case "e": resolve(); break;
      case "x":
        var row = current();
        var box = row && row.querySelector(".pick-row");
        if (box) { box.checked = !box.checked; showBulk(); }
        break;
      default: return;
    }
    event.preventDefault();
  });
  body.addEventListener("click", function (event) {
    var row = event.target.closest("tr[data-reference]");
    if (row) { select(rows().indexOf(row)); }
  });
  body.addEventListener("change", function (event) {
    if (event.target.classList.contains("pick-row")) { showBulk(); }
  });
  var all = document.getElementById("pick-all");
  if (all) {
    all.addEventListener("change", function () {
      Array.prototype.forEach.call(body.querySelectorAll(".pick-row"), function (box) { box.checked = all.checked; });
      showBulk();
    });
  }
  if (bulk) {
    document.getElementById("bulk-action").addEventListener("change", showBulkFields);
    showBulkFields();
    bulk.addEventListener("submit", function (event) {
      event.preventDefault();
      var references = picked();
      var action = document.getElementById("bulk-action").value;
      var payload = { references: references, action: action };
      var field = function (id) { var el = document.getElementById(id); return el ? el.value.trim() : ""; };
      if (action === "assign") { payload.username = field("bulk-username"); }
      if (action === "transfer") { payload.department = field("bulk-department"); payload.reason = field("bulk-reason"); }
      if (action === "close") { payload.reason = field("bulk-reason"); }
      if (action === "link") { payload.primary_reference = field("bulk-primary"); }
      if ((action === "transfer" || action === "close") && !payload.reason) {
        document.getElementById("bulk-reason").setAttribute("aria-invalid", "true");
        document.getElementById("bulk-reason").focus();
        return;
      }
      document.getElementById("bulk-apply").disabled = true;
      q.api("POST", "/api/tickets/bulk", payload).then(function (result) {
        document.getElementById("bulk-apply").disabled = false;
        q.toast(bulk.dataset.done.replace("{count}", String(result.done.length)));
        var failed = Object.keys(result.failed);
        if (failed.length) {
          q.toast(bulk.dataset.failed.replace("{count}", String(failed.length)).replace("{references}", failed.map(function (r) { return "\u2068" + r + "\u2069"; }).join(", ")), "bad");
        }
        return refresh(result.done, true);
      }).catch(function () {
        document.getElementById("bulk-apply").disabled = false;
        q.toast(bulk.dataset.failed.replace("{count}", String(references.length)).replace("{references}", ""), "bad");
      });
      refreshCounts();
    });
  }
  document.getElementById("live-show").addEventListener("click", function (event) {
    event.preventDefault();
    arrived = 0;
    banner.hidden = true;
    select(0);
  });
  q.listen(document.body.dataset.lastEvent, function (name, data) {
    refreshCounts();
    if (name === "ticket_created") { refresh([data.reference], false); }
    else if (body.querySelector('tr[data-reference="' + CSS.escape(data.reference) + '"]')) { refresh([data.reference], true); }
  });
})();
