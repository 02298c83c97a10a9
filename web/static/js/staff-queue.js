// Keeps the moderation queue table current from the /staff socket.io namespace.
// User text is inserted with textContent only.
(function () {
  "use strict";
  var table = document.getElementById("queue");
  var status = document.getElementById("live-status");
  if (!table || typeof io !== "function") { return; }
  var body = table.tBodies[0];
  // How long a question has waited, in the page's language (fi, sv, en).
  var WAITED = {
    fi: { under: "alle minuutti", hours: " t ", days: " päivää" },
    sv: { under: "under en minut", hours: " h ", days: " dagar" },
    en: { under: "under a minute", hours: " h ", days: " days" }
  };
  var words = WAITED[document.documentElement.lang] || WAITED.fi;
  var categoryNames = JSON.parse(table.dataset.categories || "{}");

  function waited(seconds) {
    var minutes = Math.floor(seconds / 60);
    if (minutes < 1) { return words.under; }
    if (minutes < 60) { return minutes + " min"; }
    var hours = Math.floor(minutes / 60);
    if (hours < 48) { return hours + words.hours + (minutes % 60) + " min"; }
    return Math.floor(hours / 24) + words.days;
  }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function badge(kind, text) {
    var span = document.createElement("span");
    span.className = "badge badge-" + kind;
    span.textContent = text;
    return span;
  }

  // The same badges as the server-rendered table (staff/_safety_badges.html).
  function badges(item) {
    var out = [];
    if (item.urgent) { out.push(badge("urgent", table.dataset.urgent)); }
    (item.flags || []).forEach(function (flag) {
      if (flag.action !== "crisis") { out.push(badge("review", table.dataset.review + " " + flag.phrase)); }
    });
    if ((item.personal_data || []).length) { out.push(badge("personal", table.dataset.personal)); }
    return out;
  }

  // The audited "show personal details" button the server-rendered rows carry (queue.html).
  function showForm(id) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = "/staff/questions/" + encodeURIComponent(id) + "/show-personal-data";
    form.className = "inline";
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrf_token";
    token.value = table.dataset.csrf;
    var button = document.createElement("button");
    button.type = "submit";
    button.className = "secondary";
    button.textContent = table.dataset.show;
    form.appendChild(token);
    form.appendChild(button);
    return form;
  }

  function render(items) {
    while (body.firstChild) { body.removeChild(body.firstChild); }
    if (!items.length) {
      var empty = document.createElement("tr");
      empty.className = "empty";
      cell(empty, table.dataset.empty).colSpan = 5;
      body.appendChild(empty);
      return;
    }
    items.forEach(function (item) {
      var row = document.createElement("tr");
      row.dataset.id = String(item.id);
      cell(row, waited(item.waited_s));
      cell(row, categoryNames[item.category] || item.category);
      if (item.urgent) { row.className = "urgent"; }
      var link = document.createElement("a");
      link.href = "/staff/questions/" + encodeURIComponent(item.id);
      var text = item.title || item.body;
      link.textContent = text.length > 120 ? text.slice(0, 117) + "…" : text;
      var question = cell(row, "");
      badges(item).forEach(function (badge) {
        question.appendChild(badge);
        question.appendChild(document.createTextNode(" "));
      });
      question.appendChild(link);
      if (item.masked) { question.appendChild(showForm(item.id)); }
      cell(row, item.publish ? table.dataset.mayPublish : table.dataset.private);
      cell(row, item.claimed_by ? table.dataset.claimed + " " + item.claimed_by : table.dataset.free);
      body.appendChild(row);
    });
  }

  var socket = io("/staff", { transports: ["websocket", "polling"] });
  socket.on("connect", function () {
    status.textContent = status.dataset.connected;
    table.dataset.live = "yes";
  });
  socket.on("disconnect", function () {
    status.textContent = status.dataset.disconnected;
    table.dataset.live = "no";
  });
  socket.on("questions", function (payload) { render(payload.items || []); });
})();
