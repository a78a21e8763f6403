// The staff list: the header's box ticks or clears every ticket on the page (the boxes work
// one by one without this script; the header's box is shown only when it runs). The bulk bar
// posts with htmx and the list is swapped in anew, so the boxes are found at each change, and
// the header's box shown again after each swap.
(function () {
  "use strict";
  const boxes = () => Array.from(document.querySelectorAll("input[type=checkbox][name=tickets]"));
  const sync = (all) => {
    const list = boxes();
    const ticked = list.filter((box) => box.checked).length;
    all.checked = ticked === list.length && ticked > 0;
    all.indeterminate = ticked > 0 && ticked < list.length;
  };
  const show = () => {
    const all = document.getElementById("tick-all");
    if (all) all.hidden = false;
  };
  document.addEventListener("change", (event) => {
    const all = document.getElementById("tick-all");
    if (!all) return;
    if (event.target === all) {
      boxes().forEach((box) => { box.checked = all.checked; });
      sync(all);
    } else if (event.target.name === "tickets") {
      sync(all);
    }
  });
  // After a swap, what it said (done, refused) is read out by its live region; the focus,
  // whose button was replaced, goes to the list's top rather than to the page's start.
  document.addEventListener("htmx:afterSettle", () => {
    show();
    const main = document.getElementById("main");
    if (main && document.activeElement === document.body) {
      main.focus({ preventScroll: true });
    }
  });
  show();
})();
