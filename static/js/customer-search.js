// The staff's customer box on the new-ticket page (input[data-customer-search]): as an agent
// types, the customers whose username, email address or name begins with it are offered in the
// box's <datalist>. Without this script the box still works: the server reads the exact
// username or email address typed.
(function () {
  "use strict";

  function enhance(input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) return;
    var asked = 0;
    var lastText = null;

    function show(results) {
      list.replaceChildren();
      results.forEach(function (customer) {
        var option = document.createElement("option");
        option.value = customer.username;
        option.label = (customer.name ? customer.name + " · " : "") + customer.email;
        list.appendChild(option);
      });
    }

    input.addEventListener("input", function () {
      var text = input.value.trim();
      if (text === lastText) return;
      lastText = text;
      // Answers can come back out of order: only the latest question's is shown.
      var question = ++asked;
      if (!text) { show([]); return; }
      var url = input.dataset.customerSearch + "?q=" + encodeURIComponent(text);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .catch(function () { return { results: [] }; })
        .then(function (data) { if (question === asked) show(data.results || []); });
    });
  }

  document.querySelectorAll("input[data-customer-search]").forEach(enhance);
})();
