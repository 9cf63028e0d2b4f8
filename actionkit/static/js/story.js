/* The story form's character counter (the limit itself is enforced by maxlength and on the server). */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("textarea[data-counter]"), function (area) {
    var out = document.getElementById(area.getAttribute("data-counter"));
    if (!out) { return; }
    var template = out.getAttribute("data-template") || "{n}";
    var timer = null;
    function update() {
      out.textContent = template.replace("{n}", area.value.length.toLocaleString());
    }
    // Announce the count after typing pauses, not on every key.
    area.addEventListener("input", function () { window.clearTimeout(timer); timer = window.setTimeout(update, 400); });
  });
}());
