// Progressive enhancement only: every page works without this file.
// On the report form, the consent guidance shows the texts of the categories ticked (all of them without JS).
(function () {
  "use strict";
  function syncConsentGuidance() {
    var form = document.querySelector("form[data-report-form]");
    if (!form) { return; }
    var items = document.querySelectorAll("[data-consent-for]");
    var ticked = Array.prototype.map.call(form.querySelectorAll("input[name='categories']:checked"),
      function (box) { return box.value; });
    Array.prototype.forEach.call(items, function (item) {
      item.hidden = ticked.length > 0 && ticked.indexOf(item.getAttribute("data-consent-for")) === -1;
    });
  }
  function focusErrorSummary() {
    var summary = document.getElementById("fejl");
    if (summary) { summary.focus(); }
  }
  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary();
    syncConsentGuidance();
    document.addEventListener("change", function (event) {
      if (event.target && event.target.name === "categories") { syncConsentGuidance(); }
    });
  });
}());
