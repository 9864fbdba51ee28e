// Settings pages: the canned reply's preview follows what is typed (the placeholders are
// filled with the sample values the server gave).
(function () {
  "use strict";
  var form = document.getElementById("canned-form");
  if (!form) { return; }
  function fill(text, name) {
    return text.replace(/\{reference\}/g, form.dataset.reference).replace(/\{name\}/g, name)
      .replace(/[ \t]+([.,،])/g, "$1").trim();
  }
  function show() {
    document.getElementById("preview-ar").textContent = fill(document.getElementById("text_ar").value, form.dataset.nameAr);
    document.getElementById("preview-en").textContent = fill(document.getElementById("text_en").value, form.dataset.nameEn);
  }
  form.addEventListener("input", show);
})();
