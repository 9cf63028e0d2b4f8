/* Supporter forms: move focus to the error summary so it is read first, and stop a second tap on a slow phone
   from sending the same step twice. The pages work without it. No inline script (CSP). */
(function () {
  "use strict";
  // After the page has loaded, so the browser's own jump to the URL's fragment (it comes later than a deferred
  // script) cannot take the focus back; the fragment is then dropped, so it does not follow to later pages.
  function focusSummary() {
    if (window.location.hash && window.history.replaceState) {
      window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search);
    }
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  }
  if (document.readyState === "complete") { focusSummary(); } else { window.addEventListener("load", focusSummary); }

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
