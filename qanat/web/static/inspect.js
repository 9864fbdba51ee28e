// The inspector's phone: where it is, and an outbox for visits recorded without signal.
// A visit is kept in IndexedDB until the server has it (201 new, 200 already had it, by
// the visit's client_id), sent again when the phone is back online and on a timer.
(function () {
  "use strict";
  var DB = "qanat-field", STORE = "outbox";
  var retryDelay = 3000, retryTimer = null, flushing = false;

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function open() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE, { keyPath: "id" }); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function run(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode), result;
        work(tx.objectStore(STORE), function (value) { result = value; });
        tx.oncomplete = function () { db.close(); resolve(result); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      });
    });
  }

  var outbox = {
    put: function (entry) { return run("readwrite", function (s) { s.put(entry); }); },
    remove: function (id) { return run("readwrite", function (s) { s["delete"](id); }); },
    all: function () {
      return run("readonly", function (s, done) {
        var request = s.getAll();
        request.onsuccess = function () { done(request.result); };
      });
    }
  };

  function say(key, extra) {
    var line = document.getElementById("outbox");
    if (!line) { return; }
    line.hidden = false;
    line.dataset.state = key;
    line.textContent = line.dataset[key];
    if (extra) {
      // The server's reason is for whoever fixes it, in the server's words: shown as code.
      var detail = document.createElement("code");
      detail.dir = "ltr";
      detail.textContent = String(extra);
      line.append(" ", detail);
    }
  }

  function later() {
    if (retryTimer) { return; }
    retryTimer = setTimeout(function () { retryTimer = null; flush(); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 60000);
  }

  function send(entry) {
    var body = new FormData();
    entry.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    entry.photos.forEach(function (file) { body.append("photos", file, file.name); });
    return fetch(entry.url, {
      method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRF-Token": csrf() }
    });
  }

  function settle(entry, response) {
    if (response.ok) {
      retryDelay = 3000;
      return outbox.remove(entry.id).then(function () {
        say("sent");
        if (entry.back && document.body.dataset.page === "inspect-visit") {
          window.location.href = entry.back + "?done=sent";
        }
      });
    }
    if (response.status >= 400 && response.status < 500 && [401, 408, 429].indexOf(response.status) < 0) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        return outbox.remove(entry.id).then(function () { say("refused", answer.detail || response.status); });
      });
    }
    later();  // the server is busy or down: try again
    return null;
  }

  function flush() {
    if (flushing || !window.indexedDB) { return Promise.resolve(); }
    flushing = true;
    return outbox.all().then(function (entries) {
      if (!entries.length) { return null; }
      say("sending");
      return entries.reduce(function (chain, entry) {
        return chain.then(function () {
          return send(entry).then(function (response) { return settle(entry, response); }, function () {
            say("waiting");  // no signal: the entry stays in the outbox
            later();
          });
        });
      }, Promise.resolve());
    }).then(function () { flushing = false; }, function () { flushing = false; });
  }

  function locate(onFix) {
    if (!navigator.geolocation) { onFix(null); return; }
    navigator.geolocation.getCurrentPosition(onFix, function () { onFix(null); },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  function visitForm() {
    var form = document.getElementById("visit-form");
    if (!form) { return; }
    document.getElementById("client_id").value = newId();
    var status = document.getElementById("gps-status");
    locate(function (position) {
      if (!position) { status.textContent = status.dataset.none; return; }
      document.getElementById("lat").value = position.coords.latitude.toFixed(6);
      document.getElementById("lon").value = position.coords.longitude.toFixed(6);
      document.getElementById("accuracy").value = Math.round(position.coords.accuracy);
      status.textContent = status.dataset.found;
      var accuracy = document.getElementById("gps-accuracy");
      accuracy.textContent = accuracy.dataset.within.replace("{n}", String(Math.round(position.coords.accuracy)));
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      document.getElementById("observed_at").value = new Date().toISOString();
      var fields = [], photos = [];
      new FormData(form).forEach(function (value, name) {
        if (value instanceof File) { if (value.name) { photos.push(value); } } else { fields.push([name, value]); }
      });
      var entry = { id: document.getElementById("client_id").value, url: form.action,
                    back: form.dataset.list, fields: fields, photos: photos };
      form.querySelector('button[type="submit"]').disabled = true;
      outbox.put(entry).then(function () { say("waiting"); return flush(); });
    });
  }

  function visitList() {
    if (document.body.dataset.here || !navigator.geolocation) { return; }
    if (new URLSearchParams(window.location.search).has("lat")) { return; }
    locate(function (position) {
      if (!position) { return; }
      var query = new URLSearchParams(window.location.search);
      query.set("lat", position.coords.latitude.toFixed(6));
      query.set("lon", position.coords.longitude.toFixed(6));
      window.location.replace(window.location.pathname + "?" + query.toString());
    });
  }

  window.addEventListener("online", function () { flush(); });
  if (document.body.dataset.page === "inspect-visit") { visitForm(); }
  if (document.body.dataset.page === "inspect-list") { visitList(); }
  flush();
})();
