/* Supporter forms: move focus to the error summary so it is read first, and stop a second tap on a slow phone
   from sending the same step twice. The pages work without it. No inline script (CSP). */
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  function setBusy(busy) {
    Array.prototype.forEach.call(document.querySelectorAll("button[type=submit]"), function (button) {
      button.disabled = busy;
      if (busy) { button.setAttribute("aria-disabled", "true"); } else { button.removeAttribute("aria-disabled"); }
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-submit-once]"), function (form) {
    form.addEventListener("submit", function () {
      // Later than the submit event, so the pressed button's own name/value is still sent.
      window.setTimeout(function () { setBusy(true); }, 0);
      // If the page is still here after a while (network trouble), let the supporter try again.
      window.setTimeout(function () { setBusy(false); }, 15000);
    });
  });
  // Coming back with the Back button (page cache) must not leave the buttons disabled.
  window.addEventListener("pageshow", function () { setBusy(false); });
}());
