// The board's "Your question has an answer", for questions this browser was asked to remember
// (followup.js keeps their codes in localStorage). Nothing is fetched when nothing is kept;
// otherwise each code is asked of GET /api/followup/{code}, exactly what opening the question's
// own page asks, so the server learns nothing new. Question text goes in with textContent.
(function () {
  "use strict";

  var STORE = "koppi.remembered";
  var SNIPPET = 80;
  var panel = document.getElementById("remembered");
  if (!panel) { return; }

  var kept;
  try {
    kept = JSON.parse(window.localStorage.getItem(STORE) || "[]");
  } catch (e) {
    return;
  }
  if (!Array.isArray(kept) || !kept.length) { return; }
  var list = panel.querySelector(".remembered-list");
  var gone = [];

  function snippet(question) {
    var text = (question.title || question.body || "").replace(/\s+/g, " ").trim();
    return text.length > SNIPPET ? text.slice(0, SNIPPET - 1) + "…" : text;
  }

  function add(code, question) {
    var item = document.createElement("li");
    var link = document.createElement("a");
    link.href = "/f/" + encodeURIComponent(code);
    link.textContent = panel.dataset.read;
    var about = document.createElement("span");
    about.className = "remembered-question";
    about.textContent = snippet(question);
    item.appendChild(link);
    item.appendChild(document.createTextNode(" "));
    item.appendChild(about);
    list.appendChild(item);
    panel.hidden = false;
  }

  function check(entry) {
    if (!entry || typeof entry.code !== "string") { return Promise.resolve(); }
    return fetch("/api/followup/" + encodeURIComponent(entry.code), {
      credentials: "same-origin",
      cache: "no-store",
    }).then(function (response) {
      if (response.status === 404) { gone.push(entry.code); return null; }
      return response.ok ? response.json() : null;
    }).then(function (found) {
      if (!found || !found.question) { return; }
      var answers = (found.question.answers || []).length;
      if (answers > (entry.seen || 0)) { add(entry.code, found.question); }
    }).catch(function () { /* offline: try again on the next visit */ });
  }

  Promise.all(kept.map(check)).then(function () {
    if (!gone.length) { return; }
    // Deleted, or removed after its time: no reason to keep its code on this device.
    var left = kept.filter(function (entry) { return gone.indexOf(entry.code) < 0; });
    try {
      if (left.length) {
        window.localStorage.setItem(STORE, JSON.stringify(left));
      } else {
        window.localStorage.removeItem(STORE);
      }
    } catch (e) { /* storage refused: nothing to tidy */ }
  });
})();
