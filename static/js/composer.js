// The staff ticket page's editor: a canned reply chosen in the picker goes into the text box at
// the cursor (its placeholders were filled in by the server, from a fixed set), and the picker
// closes. Listens on the document, so the lists htmx loads need nothing more.
(function () {
  "use strict";
  document.addEventListener("click", (event) => {
    const choice = event.target.closest("[data-canned-text]");
    if (!choice) return;
    const box = document.querySelector("#reply-form textarea");
    if (!box) return;
    const text = choice.dataset.cannedText;
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    box.value = box.value.slice(0, start) + text + box.value.slice(end);
    const picker = choice.closest("details");
    if (picker) picker.open = false;
    box.focus();
    box.selectionStart = box.selectionEnd = start + text.length;
  });
  document.addEventListener("keydown", (event) => {
    const picker = document.getElementById("canned-picker");
    if (event.key === "Escape" && picker && picker.open) {
      picker.open = false;
      picker.querySelector("summary").focus();
    }
  });
})();
