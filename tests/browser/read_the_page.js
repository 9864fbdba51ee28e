() => {
  // What people read on a page after its script ran (tests/browser/test_arabic_audit.py).
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
  return {lang: lang, dir: document.documentElement.dir, texts: found};
}
