/* Refreshes delivery statuses on the thank-you page from its JSON endpoint (same token, same origin). While the
   letters are being prepared (data-preparing) it polls quickly and reloads the page once they are recorded.
   The page works without it: reloading shows the same information. No inline script (CSP). */
(function () {
  "use strict";
  var list = document.getElementById("statuses");
  if (!list || !window.fetch) { return; }
  var url = list.getAttribute("data-status-url");
  var preparing = list.getAttribute("data-preparing") === "true";
  var delay = preparing ? 1000 : 5000;
  var maxDelay = 60000;
  var stopAt = Date.now() + 30 * 60 * 1000;

  function update(data) {
    if (preparing) {
      if (data.preparing) { return false; }
      window.location.reload();
      return true;
    }
    (data.letters || []).forEach(function (letter) {
      var item = list.querySelector('[data-letter-id="' + String(letter.id) + '"]');
      var badge = item && item.querySelector("[data-status]");
      if (badge && badge.textContent !== letter.label) {
        badge.textContent = letter.label;
        badge.className = "status status-" + letter.status;
      }
    });
    return Boolean(data.final);
  }

  function poll() {
    if (Date.now() > stopAt) { return; }
    if (document.hidden) { window.setTimeout(poll, delay); return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (data) {
        if (!update(data)) {
          if (preparing) { delay = Math.min(delay * 1.5, 15000); }  /* a worker that is down: ask less often */
          window.setTimeout(poll, delay);
        }
      })
      .catch(function () {
        delay = Math.min(delay * 2, maxDelay);
        window.setTimeout(poll, delay);
      });
  }

  if (list.getAttribute("data-final") !== "true") { window.setTimeout(poll, delay); }
}());
