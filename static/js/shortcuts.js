// Keyboard shortcuts on the staff pages (the list is templates/includes/shortcut_help.html,
// shown by "?"): j/k move in a list of tickets, o opens, r reply, n internal note, t take it,
// Ctrl+Enter sends the editor. None fires while typing in a field, except Ctrl+Enter in the
// editor. Listens on the document, so pages htmx swaps in need nothing more.
(function () {
  "use strict";
  const typing = (el) =>
    el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  const visible = (el) => el && el.offsetParent !== null;
  let current = -1;

  function rows() {
    return Array.from(document.querySelectorAll("tbody tr")).filter((row) =>
      row.querySelector("td.title-cell a"));
  }

  function move(step) {
    const list = rows();
    if (!list.length) return;
    if (list[current]) list[current].classList.remove("shortcut-current");
    current = Math.max(0, Math.min(list.length - 1, current + step));
    list[current].classList.add("shortcut-current");
    list[current].scrollIntoView({ block: "nearest" });
  }

  function editor(tab) {
    const radio = document.getElementById(tab === "note" ? "tab-note" : "tab-reply");
    const box = document.querySelector("#reply-form textarea");
    if (!radio || !box) return;
    radio.checked = true;
    box.focus();
  }

  function send() {
    const button = Array.from(document.querySelectorAll("#reply-form [data-send]")).find(visible);
    if (button) button.click();
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      if (event.target.closest && event.target.closest("#reply-form")) {
        event.preventDefault();
        send();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const help = document.getElementById("shortcut-help");
    if (help && help.open) return;  // the dialog has the keyboard (Escape closes it)
    let done = true;
    switch (event.key) {
      case "?":
        if (help) help.showModal();
        break;
      case "j": move(1); break;
      case "k": move(-1); break;
      case "o": {
        const row = rows()[current];
        if (row) row.querySelector("td.title-cell a").click();
        break;
      }
      case "r": editor("reply"); break;
      case "n": editor("note"); break;
      case "t": {
        const take = document.querySelector('[data-shortcut="t"]');
        if (take) take.click();
        break;
      }
      default: done = false;
    }
    if (done) event.preventDefault();
  });
})();
