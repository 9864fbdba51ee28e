// qanat's shared page script: forms sent without a reload, confirmations, toasts, the
// keyboard help, live events. No inline script anywhere (strict CSP); pages add their own
// file (inbox.js, ticket.js) and find these helpers on window.qanat.
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
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf() },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(response.status + " " + path);
          error.data = data;
          throw error;
        }
        return data;
      });
    });
  }

  function toast(text, kind) {
    var holder = document.getElementById("toasts");
    if (!holder || !text) { return; }
    var item = document.createElement("p");
    item.className = "toast" + (kind ? " " + kind : "");
    item.setAttribute("role", kind === "bad" ? "alert" : "status");
    item.textContent = text;
    holder.appendChild(item);
    setTimeout(function () { item.remove(); }, 6000);
  }

  function showErrors(form, errors) {
    Array.prototype.forEach.call(form.querySelectorAll(".field-error"), function (el) {
      el.hidden = true;
      el.textContent = "";
    });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (el) {
      el.removeAttribute("aria-invalid");
    });
    var unplaced = [];
    Object.keys(errors || {}).forEach(function (field) {
      var place = form.querySelector('.field-error[data-for="' + field + '"]');
      var input = form.querySelector('[name="' + field + '"]');
      if (input) { input.setAttribute("aria-invalid", "true"); }
      if (place) {
        place.textContent = errors[field];
        place.hidden = false;
      } else {
        unplaced.push(errors[field]);
      }
    });
    unplaced.forEach(function (text) { toast(text, "bad"); });
  }

  // Parts of the page the server drew again, by the id of their container.
  function replaceParts(parts) {
    Object.keys(parts || {}).forEach(function (id) {
      var holder = document.getElementById(id);
      if (holder) { holder.innerHTML = parts[id]; }
    });
    document.dispatchEvent(new CustomEvent("qanat:parts"));
  }

  function send(form) {
    var button = form.querySelector('button[type="submit"], button:not([type])');
    if (button) { button.disabled = true; }
    return fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf() },
      body: new FormData(form)
    }).then(function (response) {
      return response.json().catch(function () { return { ok: false, errors: { form: response.status + "" } }; });
    }).then(function (data) {
      if (button) { button.disabled = false; }
      (data.toasts || []).forEach(function (text) { toast(text); });
      if (data.redirect) { location.href = data.redirect; return data; }
      replaceParts(data.parts);
      var current = form.id ? document.getElementById(form.id) : form;
      showErrors(current || form, data.errors);
      form.dispatchEvent(new CustomEvent("qanat:sent", { bubbles: true, detail: data }));
      return data;
    });
  }

  // A form that asks first: a <dialog> whose reason goes into the form's "reason" field.
  function confirmThen(form, dialogId, done) {
    var dialog = document.getElementById(dialogId);
    if (!dialog || !dialog.showModal) { done(); return; }
    var reason = dialog.querySelector("textarea");
    var problem = dialog.querySelector(".field-error");
    reason.value = "";
    problem.hidden = true;
    dialog.showModal();
    reason.focus();
    dialog.addEventListener("close", function handler() {
      dialog.removeEventListener("close", handler);
      if (dialog.returnValue !== "confirm") { return; }
      if (!reason.value.trim()) { problem.hidden = false; dialog.showModal(); dialog.addEventListener("close", handler); return; }
      var field = form.querySelector('[name="reason"], [name="close_reason"]');
      if (form.dataset.reasonField) { field = form.querySelector('[name="' + form.dataset.reasonField + '"]'); }
      if (field) { field.value = reason.value.trim(); }
      done();
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form.ajax")) { return; }
    event.preventDefault();
    var before = new CustomEvent("qanat:before-send", { bubbles: true, cancelable: true, detail: {} });
    if (!form.dispatchEvent(before)) { return; }
    var dialog = before.detail.confirm || form.dataset.confirm;
    if (dialog) {
      confirmThen(form, dialog, function () { send(form); });
    } else {
      send(form);
    }
  });

  // "?" shows the keyboard help of the page (a <dialog id="keys-help">).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "?" || typing(event)) { return; }
    var help = document.getElementById("keys-help");
    if (help && help.showModal) {
      event.preventDefault();
      if (help.open) { help.close(); } else { help.showModal(); }
    }
  });

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

  // The browser says why a field is refused in the browser's language, which may not be
  // the page's: qanat says it in the page's words instead (texts on <body data-invalid-*>).
  function refusal(field) {
    var says = document.body.dataset;
    var validity = field.validity;
    if (validity.valueMissing) { return says.invalidRequired; }
    if (validity.typeMismatch && field.type === "email") { return says.invalidEmail; }
    if (validity.rangeOverflow || validity.rangeUnderflow || validity.stepMismatch) { return says.invalidRange; }
    if (validity.tooShort) { return says.invalidShort.replace("{n}", String(field.minLength)); }
    return says.invalidFormat;
  }
  document.addEventListener("invalid", function (event) {
    var field = event.target;
    field.setCustomValidity("");
    if (!field.validity.valid) { field.setCustomValidity(refusal(field) || ""); }
  }, true);
  ["input", "change"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var field = event.target;
      if (field.setCustomValidity) { field.setCustomValidity(""); }
      // A radio group is one answer: choosing one clears the group's refusal.
      if (field.type === "radio" && field.form) {
        Array.prototype.forEach.call(field.form.querySelectorAll('input[type="radio"][name="' + CSS.escape(field.name) + '"]'), function (other) {
          other.setCustomValidity("");
        });
      }
    }, true);
  });

  // A photo picker shows the chosen files' names under its own (translated) button.
  document.addEventListener("change", function (event) {
    var input = event.target;
    var pick = input.closest ? input.closest(".file-pick") : null;
    if (!pick || input.type !== "file") { return; }
    var names = Array.prototype.map.call(input.files, function (file) { return file.name; });
    pick.querySelector(".file-names").textContent = names.length ? names.join(input.dataset.comma || ", ") : input.dataset.none;
  });

  window.qanat = {
    api: api, csrf: csrf, toast: toast, send: send, listen: listen, plainKey: plainKey,
    typing: typing, replaceParts: replaceParts, showErrors: showErrors, confirmThen: confirmThen
  };
  if (document.body.dataset.page === "public-report") { publicReport(); }
})();
