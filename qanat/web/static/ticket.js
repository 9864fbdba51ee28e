// The ticket page: the update panel (reply or note, "/" for canned replies, a close asks
// first), keyboard shortcuts, and the banner when someone else changes the ticket.
(function () {
  "use strict";
  var q = window.qanat;
  var reference = document.body.dataset.reference;
  var me = "staff:" + document.body.dataset.username;

  function form() { return document.getElementById("update-form"); }
  function text() { return document.getElementById("text"); }

  // The mode switches the placeholder; a note never leaves qanat.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.name === "mode" && text()) {
      var box = text();
      box.placeholder = target.value === "note" ? box.dataset.notePlaceholder : box.dataset.replyPlaceholder;
      document.body.classList.toggle("writing-note", target.value === "note");
    }
    if (target.id === "department-select") {
      var was = form().querySelector('[name="department_was"]').value;
      document.getElementById("reason-field").classList.toggle("needed", target.value !== was);
    }
  });

  // Closing asks for a reason first (the dialog's reason goes in "close_reason").
  document.addEventListener("qanat:before-send", function (event) {
    var panel = form();
    if (event.target !== panel) { return; }
    var status = panel.querySelector('[name="status"]');
    var was = panel.querySelector('[name="status_was"]');
    if (status && status.value === "closed" && was.value !== "closed") {
      panel.dataset.reasonField = "close_reason";
      event.detail.confirm = "close-dialog";
    } else {
      delete panel.dataset.reasonField;
    }
  });

  // "/" at the start of the box or after a space opens the canned replies; typing filters,
  // Enter or a click puts the chosen one in place of "/…".
  var menu = null;
  var slashAt = -1;
  function items() {
    return Array.prototype.slice.call(document.querySelectorAll("#canned-menu .canned-item"));
  }
  function visible() { return items().filter(function (item) { return !item.hidden; }); }
  function openMenu(at) {
    menu = document.getElementById("canned-menu");
    if (!menu) { return; }
    slashAt = at;
    menu.hidden = false;
    filter("");
  }
  function closeMenu() {
    if (menu) { menu.hidden = true; }
    slashAt = -1;
  }
  function filter(word) {
    var first = true;
    items().forEach(function (item) {
      var match = !word || (item.textContent + " " + item.dataset.key).toLowerCase().indexOf(word.toLowerCase()) >= 0;
      item.hidden = !match;
      item.classList.toggle("active", match && first);
      if (match) { first = false; }
    });
  }
  function choose(item) {
    var box = text();
    var start = slashAt >= 0 ? slashAt : box.selectionStart;
    var end = box.selectionStart;
    box.value = box.value.slice(0, start) + item.dataset.text + box.value.slice(end);
    var caret = start + item.dataset.text.length;
    box.setSelectionRange(caret, caret);
    closeMenu();
    box.focus();
  }
  document.addEventListener("input", function (event) {
    if (event.target.id !== "text") { return; }
    var box = event.target;
    var caret = box.selectionStart;
    if (slashAt < 0 && box.value[caret - 1] === "/" && (caret === 1 || /\s/.test(box.value[caret - 2]))) {
      openMenu(caret - 1);
    } else if (slashAt >= 0) {
      if (caret <= slashAt || box.value[slashAt] !== "/") { closeMenu(); return; }
      filter(box.value.slice(slashAt + 1, caret));
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.target.id !== "text" || slashAt < 0) { return; }
    var shown = visible();
    var index = shown.findIndex(function (item) { return item.classList.contains("active"); });
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      var next = (index + (event.key === "ArrowDown" ? 1 : -1) + shown.length) % shown.length;
      shown.forEach(function (item, n) { item.classList.toggle("active", n === next); });
      event.preventDefault();
    } else if (event.key === "Enter" && shown[index]) {
      choose(shown[index]);
      event.preventDefault();
    } else if (event.key === "Escape") {
      closeMenu();
    }
  });
  document.addEventListener("click", function (event) {
    var item = event.target.closest ? event.target.closest(".canned-item") : null;
    if (item) { choose(item); return; }
    if (event.target.id === "canned-open") {
      var box = text();
      box.focus();
      openMenu(-1);
    }
  });

  // After the panel was saved, the fresh panel is empty and ready for the next message.
  document.addEventListener("qanat:sent", function (event) {
    if (event.detail && event.detail.ok && event.target.id === "update-form") { closeMenu(); }
  });

  document.addEventListener("keydown", function (event) {
    if (!q.plainKey(event)) { return; }
    var box = text();
    switch (event.key) {
      case "r": if (box) { form().querySelector('[name="mode"][value="reply"]').click(); box.focus(); } break;
      case "n": if (box) { form().querySelector('[name="mode"][value="note"]').click(); box.focus(); } break;
      case "a":
        q.api("POST", "/api/tickets/" + encodeURIComponent(reference) + "/take").then(refresh);
        break;
      case "e":
        q.api("PATCH", "/api/tickets/" + encodeURIComponent(reference), { status: "resolved" }).then(refresh);
        break;
      default: return;
    }
    event.preventDefault();
  });

  // Redraw the page's parts after a change made through the API (the keyboard).
  function refresh() {
    fetch("/tickets/" + encodeURIComponent(reference) + "/parts", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) { q.replaceParts(data.parts); });
  }

  if (location.hash === "#reply" && text()) { text().focus(); }
  if (location.hash === "#note" && text()) { form().querySelector('[name="mode"][value="note"]').click(); text().focus(); }
  q.listen(document.body.dataset.lastEvent, function (name, data) {
    if (data.reference === reference && data.actor !== me) {
      document.getElementById("changed").hidden = false;
    }
  });
})();
