() => {
  // The first elements sticking out of the window whose parent does not (to name them).
  const width = window.innerWidth;
  const out = (el) => { const box = el.getBoundingClientRect(); return box.width > 0 && (box.left < -1 || box.right > width + 1); };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.classList.length ? "." + Array.from(el.classList).join(".") : "");
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (out(el) && !out(el.parentElement) && el.closest("[hidden],dialog:not([open])") === null) {
      const box = el.getBoundingClientRect();
      found.push(name(el.parentElement) + " > " + name(el) + " " + Math.round(box.left) + ".." + Math.round(box.right));
    }
  }
  return found.slice(0, 4);
}
