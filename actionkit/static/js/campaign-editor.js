/* Live letter previews in the campaign editor: after a pause in typing, the whole form is posted to the JSON
   preview endpoint (same CSRF token, same origin) and the template's preview box is redrawn with textContent only.
   Without this script the "Preview" buttons do the same with a page reload. No inline script (CSP). */
(function () {
  "use strict";
  var form = document.getElementById("campaign-form");
  if (!form || !window.fetch || !window.FormData) { return; }
  var url = form.getAttribute("data-preview-url");
  var timers = {};
  var latest = {};

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function draw(box, data) {
    while (box.firstChild) { box.removeChild(box.firstChild); }
    if (data.empty) { box.hidden = true; return; }
    box.hidden = false;
    box.appendChild(el("p", "preview-sample", "Sample: " + data.sample));
    if (data.problems && data.problems.length) {
      var list = el("ul", "preview-problems");
      data.problems.forEach(function (p) { list.appendChild(el("li", "", p.text)); });
      box.appendChild(list);
      return;
    }
    if (data.subject) {  /* call scripts have no subject */
      var subject = el("p", "preview-subject");
      subject.appendChild(el("span", "label", "Subject:"));
      subject.appendChild(document.createTextNode(" "));
      subject.appendChild(el("span", "value", data.subject));
      box.appendChild(subject);
    }
    box.appendChild(el("pre", "letter-text preview-body", data.body));
  }

  function refresh(key) {
    var box = document.getElementById("preview-" + key);
    if (!box) { return; }
    var body = new FormData(form);
    body.append("key", key);
    var ticket = (latest[key] || 0) + 1;
    latest[key] = ticket;
    fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (data) { if (latest[key] === ticket) { draw(box, data); } })
      .catch(function () { /* the Preview button still works */ });
  }

  /* Ticking an office type under "Write to" opens its letters (without the script, open them by hand). */
  Array.prototype.forEach.call(form.querySelectorAll("input[name=target_types]"), function (box) {
    box.addEventListener("change", function () {
      var group = document.getElementById("group-" + box.value);
      if (!group || !box.checked) { return; }
      group.open = true;
      var language = form.querySelector("[name=letter_language]");
      var first = document.getElementById("tpl_" + box.value + "_" + (language ? language.value : "en"));
      if (first) { first.open = true; }
    });
  });

  Array.prototype.forEach.call(form.querySelectorAll("[data-preview-key]"), function (group) {
    var key = group.getAttribute("data-preview-key");
    group.addEventListener("input", function () {
      window.clearTimeout(timers[key]);
      timers[key] = window.setTimeout(function () { refresh(key); }, 600);
    });
  });
}());
