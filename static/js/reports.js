// Draws every chart on the report page from the figure data the page carries in
// <script type="application/json"> elements (Django's json_script): no inline JavaScript.
(function () {
  "use strict";
  function draw() {
    document.querySelectorAll("[data-figure]").forEach(function (target) {
      var source = document.getElementById(target.getAttribute("data-figure"));
      if (!source || typeof Plotly === "undefined") { return; }
      var figure = JSON.parse(source.textContent);
      var config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["sendDataToCloud"] };
      Plotly.newPlot(target, figure.data, figure.layout, config).then(function () {
        target.setAttribute("data-drawn", "true");
      });
    });
    document.querySelectorAll("[data-toggle-table]").forEach(function (button) {
      button.addEventListener("click", function () {
        var table = document.getElementById(button.getAttribute("data-toggle-table"));
        var chart = document.getElementById(button.getAttribute("data-chart"));
        var showTable = table.hidden;
        table.hidden = !showTable;
        chart.hidden = showTable;
        button.setAttribute("aria-pressed", showTable ? "true" : "false");
        // The words in the page's language, from the button (templates/reports/page.html).
        button.textContent = showTable ? button.dataset.labelChart : button.dataset.labelTable;
        if (!showTable && typeof Plotly !== "undefined") { Plotly.Plots.resize(chart); }
      });
    });
    var preset = document.getElementById("id_preset");
    if (preset) {
      var custom = document.querySelectorAll("[data-custom-range]");
      var sync = function () {
        custom.forEach(function (el) { el.hidden = preset.value !== "custom"; });
      };
      preset.addEventListener("change", sync);
      sync();
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
