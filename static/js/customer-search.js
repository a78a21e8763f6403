// The staff's customer box on the new-ticket page (input[data-customer-search]): as an agent
// types, the customers whose username, email address or name begins with it are offered in the
// box's <datalist>. Without this script the box still works: the server reads the exact
// username or email address typed.
(function () {
  "use strict";

  function enhance(input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) return;
    var pending = null;
    var lastAsked = null;

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
      if (text === lastAsked) return;
      lastAsked = text;
      if (pending) pending.abort();
      if (!text) { show([]); return; }
      pending = new AbortController();
      var url = input.dataset.customerSearch + "?q=" + encodeURIComponent(text);
      fetch(url, { signal: pending.signal, credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) { show(data.results || []); })
        .catch(function (error) { if (error.name !== "AbortError") show([]); });
    });
  }

  document.querySelectorAll("input[data-customer-search]").forEach(enhance);
})();
