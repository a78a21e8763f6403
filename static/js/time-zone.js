// The profile page's time zone, suggested from the browser while none is chosen: the select is
// set to the browser's zone (if it is one of its names) and a line says so; saving keeps it.
// Without this script the form works the same, with the site's zone preselected.
(function () {
  "use strict";
  const select = document.getElementById("id_time_zone");
  const note = document.getElementById("time-zone-suggestion");
  if (!select || !note || select.value !== "") return;
  let zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return;
  }
  const known = Array.from(select.options).some((option) => option.value === zone);
  if (!zone || !known) return;
  select.value = zone;
  note.querySelector("[data-zone]").textContent = zone;
  note.hidden = false;
})();
