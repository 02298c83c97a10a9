// Similar answered questions while asking (board/_similar.html on /ask): when the young person
// pauses typing in #body, up to three answered questions like theirs show under the text box,
// and each opens its answer in place, so nothing they wrote is lost. One request per pause, none
// for unchanged text, a stale one cancelled; the count is read out only when it changes. Text
// from the board goes in with textContent only. Without JavaScript nothing shows.
(function () {
  "use strict";
  var box = document.getElementById("similar");
  var body = document.getElementById("body");
  var status = document.getElementById("similar-status");
  if (!box || !body || !status || !window.fetch || !window.AbortController) { return; }
  var toggle = document.getElementById("similar-toggle");
  var panel = document.getElementById("similar-list");
  var list = box.querySelector(".similar-items");
  var PAUSE_MS = 400;
  var MIN_CHARS = 12;
  // The start of a long question says what it is about; the API reads at most 500 characters.
  var MAX_SENT = 500;
  var timer = null;
  var pending = null;
  var lastSent = "";
  var announced = 0;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function wanted() {
    var text = body.value.replace(/\s+/g, " ").trim();
    if (text.length > MAX_SENT) { text = text.slice(0, MAX_SENT).replace(/\s+\S*$/, ""); }
    return text.length >= MIN_CHARS ? text : "";
  }

  function announce(count) {
    if (count === announced) { return; }
    announced = count;
    status.textContent = count ? box.getAttribute("data-count-" + Math.min(count, 3)) : "";
  }

  // The answer opened in place: the whole question (unless its start already shows it all),
  // then each answer with who gave it.
  function fillAnswer(detail, question, shown) {
    while (detail.firstChild) { detail.removeChild(detail.firstChild); }
    if (question.body.replace(/\s+/g, " ").trim() !== shown) {
      detail.appendChild(element("p", "similar-full", question.body));
    }
    (question.answers || []).forEach(function (answer) {
      var who = box.getAttribute("data-role-" + answer.role) || "";
      if (answer.first_name) { who = who ? who + " " + answer.first_name : answer.first_name; }
      var part = element("div", "similar-reply");
      part.appendChild(element("h4", "similar-who", who));
      part.appendChild(element("p", "similar-full", answer.body));
      detail.appendChild(part);
    });
  }

  // Open, the whole question replaces its start; closed, the start is back.
  function expand(item, button, detail, open) {
    var start = item.querySelector(".similar-excerpt");
    if (start) { start.hidden = open; }
    button.setAttribute("aria-expanded", open ? "true" : "false");
    button.textContent = box.getAttribute(open ? "data-hide" : "data-show");
    detail.hidden = !open;
  }

  function openAnswer(item, button, detail) {
    if (button.getAttribute("aria-expanded") === "true") {
      expand(item, button, detail, false);
      return;
    }
    if (detail.getAttribute("data-loaded") === "yes") {
      expand(item, button, detail, true);
      return;
    }
    button.textContent = box.getAttribute("data-loading");
    button.disabled = true;
    fetch("/api/questions/" + encodeURIComponent(item.getAttribute("data-id")), {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (question) {
      fillAnswer(detail, question, item.getAttribute("data-start"));
      detail.setAttribute("data-loaded", "yes");
      expand(item, button, detail, true);
    }).catch(function () {
      while (detail.firstChild) { detail.removeChild(detail.firstChild); }
      detail.appendChild(element("p", "similar-failed", box.getAttribute("data-failed")));
      detail.hidden = false;
      button.textContent = box.getAttribute("data-show");
    }).then(function () {
      button.disabled = false;
    });
  }

  function newItem(found) {
    var item = element("li", "similar-item");
    item.setAttribute("data-id", String(found.id));
    // With a title, the start shows below it; without one, the start is the heading.
    item.setAttribute("data-start", found.title ? "" : found.excerpt);
    var heading = element("h3", "similar-title", found.title || found.excerpt);
    heading.id = "similar-title-" + found.id;
    item.appendChild(element("p", "similar-category", found.category_name));
    item.appendChild(heading);
    if (found.title) { item.appendChild(element("p", "similar-excerpt", found.excerpt)); }
    var detail = element("div", "similar-answer");
    detail.id = "similar-answer-" + found.id;
    detail.hidden = true;
    var button = element("button", "similar-open", box.getAttribute("data-show"));
    button.type = "button";
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", detail.id);
    button.setAttribute("aria-describedby", heading.id);
    button.addEventListener("click", function () { openAnswer(item, button, detail); });
    item.appendChild(button);
    item.appendChild(detail);
    return item;
  }

  // An answer the young person opened stays open while they go on typing, if its question
  // still matches; the rest make way, in the new order.
  function show(items) {
    var kept = {};
    var now = Array.prototype.map.call(list.children, function (item) { return item.getAttribute("data-id"); });
    var next = items.slice(0, 3).map(function (found) { return String(found.id); });
    if (now.join(" ") === next.join(" ")) { return; }
    Array.prototype.slice.call(list.children).forEach(function (item) {
      kept[item.getAttribute("data-id")] = item;
      list.removeChild(item);
    });
    items.slice(0, 3).forEach(function (found) {
      list.appendChild(kept[String(found.id)] || newItem(found));
    });
    box.hidden = !list.children.length;
    announce(list.children.length);
  }

  function lookUp() {
    var text = wanted();
    if (text === lastSent) { return; }
    lastSent = text;
    if (pending) { pending.abort(); pending = null; }
    if (!text) { show([]); return; }
    var request = new AbortController();
    pending = request;
    var lang = document.documentElement.getAttribute("lang") || "";
    var url = box.getAttribute("data-url") + "?text=" + encodeURIComponent(text) +
      (lang ? "&lang=" + encodeURIComponent(lang) : "");
    fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal: request.signal
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (items) {
      if (pending !== request) { return; }
      pending = null;
      show(Array.isArray(items) ? items : []);
    }).catch(function () {
      // Refused (too many searches) or offline: what shows stays, and the next pause asks again.
      if (pending === request) { pending = null; lastSent = ""; }
    });
  }

  function typed() {
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(lookUp, PAUSE_MS);
  }

  toggle.addEventListener("click", function () {
    var open = toggle.getAttribute("aria-expanded") === "true";
    toggle.setAttribute("aria-expanded", open ? "false" : "true");
    panel.hidden = open;
  });
  body.addEventListener("input", typed);
  // A form sent back with an error still holds the question: look once at load.
  if (body.value) { typed(); }
})();
