/* In an embedded action (/act/<slug>/embed): tell the parent page our height after every change, so its iframe
   grows to fit and no scroll bars appear. Only the height is sent, and only to the origins the campaign allows. */
(function () {
  "use strict";
  if (window.parent === window) return;
  var script = document.currentScript;
  var origins = (script && script.getAttribute("data-origins") || "").split(" ").filter(Boolean);
  var last = 0;
  function report() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    origins.forEach(function (origin) {
      window.parent.postMessage({ type: "actionkit:height", height: height }, origin);
    });
  }
  if (window.ResizeObserver) new ResizeObserver(report).observe(document.documentElement);
  window.addEventListener("load", report);
  document.addEventListener("DOMContentLoaded", report);
})();
