// The staff list: the header's box ticks or clears every ticket on the page (the boxes work
// one by one without this script; the header's box is shown only when it runs).
(function () {
  "use strict";
  const all = document.getElementById("tick-all");
  if (!all) return;
  const boxes = Array.from(document.querySelectorAll('input[type=checkbox][name=tickets]'));
  all.hidden = false;
  const sync = () => {
    const ticked = boxes.filter((box) => box.checked).length;
    all.checked = ticked === boxes.length && ticked > 0;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  };
  all.addEventListener("change", () => {
    boxes.forEach((box) => { box.checked = all.checked; });
    sync();
  });
  boxes.forEach((box) => box.addEventListener("change", sync));
})();
