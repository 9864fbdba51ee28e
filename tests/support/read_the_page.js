() => {
  // What people read on a page after its script ran (tests/support/page_audit.py).
  const lang = document.documentElement.lang;
  const DATA = "script,style,code,kbd,textarea,bdi,[data-typed],[dir=auto],template,noscript";
  const elsewhere = (el) => {
    const owner = el.closest("[lang]");
    return owner !== null && owner !== document.documentElement && owner.lang !== lang;
  };
  const skip = (el) => !el || el.closest(DATA) !== null || elsewhere(el);
  const found = [];
  const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    if (text && !skip(node.parentElement)) { found.push(text); }
  }
  for (const el of document.querySelectorAll("[placeholder],[title],[aria-label],[alt],[label],input[type=submit],input[type=button]")) {
    if (skip(el)) { continue; }
    for (const name of ["placeholder", "title", "aria-label", "alt", "label"]) {
      const value = el.getAttribute(name);
      if (value && value.trim()) { found.push(name + "=" + value.trim()); }
    }
    if (el.matches("input[type=submit],input[type=button]") && el.value) { found.push("value=" + el.value); }
  }
  // Words kept in data-* attributes for scripts to show later (toasts, the outbox, the
  // GPS line, the map's buttons, validation messages, placeholders).
  const SAID_LATER = /^data-(done|failed|none|found|waiting|sending|sent|refused|within|zoom-in|zoom-out|note-placeholder|reply-placeholder|invalid-[a-z]+)$/;
  for (const el of document.querySelectorAll("*")) {
    if (skip(el)) { continue; }
    for (const attribute of el.attributes) {
      if (SAID_LATER.test(attribute.name) && attribute.value.trim()) { found.push(attribute.name + "=" + attribute.value.trim()); }
    }
  }
  // A reference or a number run into words flips in a right-to-left line unless it is
  // isolated: its own element with unicode-bidi isolate (dir="ltr", <bdi>, dir="auto"),
  const REFERENCE = /QN-\d{4}-\d{6}/;
  const ISOLATED = ["isolate", "isolate-override", "plaintext"];
  const unisolated = [];
  const refs = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = refs.nextNode(); node; node = refs.nextNode()) {
    const el = node.parentElement;
    if (!REFERENCE.test(node.textContent) || !el || el.closest("script,style,textarea,code,pre,kbd,[data-typed]")) { continue; }
    const text = node.textContent.trim();
    const alone = text.match(REFERENCE)[0] === text && ISOLATED.includes(getComputedStyle(el).unicodeBidi);
    // Or set apart inside the words by Unicode's isolates (U+2068 … U+2069).
    const marked = text.replace(/\u2068QN-\d{4}-\d{6}\u2069/g, "");
    if (!alone && REFERENCE.test(marked)) { unisolated.push(text.slice(0, 60)); }
  }
  return {lang: lang, dir: document.documentElement.dir, texts: found, unisolated: unisolated};
}
