// The counsellor's and adviser's live chat desk over the /staff socket.io namespace
// (docs/realtime.md). Texts come from data-* attributes and the panel <template>;
// user and server text goes in with textContent only.
(function () {
  "use strict";
  var root = document.getElementById("staff-chat");
  if (!root || typeof io !== "function") { return; }
  var d = root.dataset;
  var TYPING_EVERY_MS = 2000;
  var TYPING_SHOWN_MS = 6000;
  var ACK_MS = 15000;
  var FIRST_MESSAGE_SHOWN = 300;

  function $(id) { return document.getElementById(id); }
  var el = {
    connection: $("staff-connection"), announce: $("staff-announce"),
    available: $("available"), availableError: $("available-error"),
    load: $("desk-load"), open: $("desk-open"),
    summary: $("queue-summary"), takeNext: $("take-next"), queueError: $("queue-error"),
    waiting: $("waiting-list"), noChats: $("no-chats"), chats: $("my-chats"),
    template: $("chat-panel-template")
  };

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }
  function setText(node, text) { if (node.textContent !== text) { node.textContent = text; } }
  function errorText(ack) { return (ack && ack.message) || d.sError; }
  function announce(text) { setText(el.announce, ""); window.setTimeout(function () { setText(el.announce, text); }, 50); }
  function newClientId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function clock(iso) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) { return ""; }
    try { return when.toLocaleTimeString(d.lang || undefined, { hour: "2-digit", minute: "2-digit" }); }
    catch (e) { return when.toLocaleTimeString(); }
  }
  function waited(seconds) {
    var minutes = Math.floor(seconds / 60);
    return fill(d.sWaited, { time: minutes < 1 ? d.sUnderMinute : fill(d.sMinutes, { num: minutes }) });
  }

  // Names from the page: topics from the wrap-up list, roles from the transfer list.
  var topics = {};
  var roles = {};
  Array.prototype.forEach.call(el.template.content.querySelectorAll("[data-id=end-category] option"), function (o) {
    topics[o.value] = o.textContent;
  });
  Array.prototype.forEach.call(el.template.content.querySelectorAll("[data-id=transfer-to] option"), function (o) {
    if (o.value.indexOf("role:") === 0) { roles[o.value.slice(5)] = o.textContent; }
  });

  var socket = io("/staff", { transports: ["websocket", "polling"] });
  var attempt = 0;
  var desk = null;
  var colleagues = [];        // everyone on the console, from `colleagues`
  var panels = {};            // chat_id -> panel
  var focusChat = null;       // a chat just accepted: its message box gets the keyboard

  function call(event, payload, done) {
    var mine = attempt;
    socket.timeout(ACK_MS).emit(event, payload, function (err, ack) {
      if (mine !== attempt) { return; }
      done(err ? null : (ack || {}));
    });
  }
  function failed(ack) { return ack === null || !!ack.error; }

  // ---- connection ----------------------------------------------------------------------
  function showConnection(state) {
    el.connection.dataset.state = state;
    setText(el.connection, state === "connected" ? d.sConnected : state === "reconnecting" ? d.sReconnecting : d.sConnecting);
  }

  // ---- desk ----------------------------------------------------------------------------
  el.available.addEventListener("change", function () {
    var on = el.available.checked;
    setText(el.availableError, "");
    el.available.disabled = true;
    call("available", { on: on }, function (ack) {
      el.available.disabled = false;
      if (failed(ack)) {
        el.available.checked = !on;
        setText(el.availableError, errorText(ack));
        return;
      }
      root.dataset.available = on ? "yes" : "no";
    });
  });

  function colleaguesFree() {
    var me = Number(d.staffId);
    return colleagues.filter(function (c) {
      return c.id !== me && c.available && c.present && c.load < c.capacity;
    });
  }

  function showDesk(payload) {
    desk = payload;
    if (!el.available.disabled) { el.available.checked = !!payload.available; }
    root.dataset.available = payload.available ? "yes" : "no";
    setText(el.load, fill(d.sLoad, { load: payload.load, capacity: payload.capacity }));
    setText(el.open, payload.open ? d.sOpen : d.sClosed);
    if (payload.colleagues) { showColleagues({ items: payload.colleagues }); }
  }

  function showColleagues(payload) {
    colleagues = payload.items || [];
    Object.keys(panels).forEach(function (id) { fillColleagues(panels[id]); });
  }

  // ---- the waiting list ----------------------------------------------------------------
  var queue = [];
  var queueAt = Date.now();

  function accept(chatId, button) {
    setText(el.queueError, "");
    if (button) { button.disabled = true; }
    call("accept", chatId === null ? {} : { chat_id: chatId }, function (ack) {
      if (button) { button.disabled = false; }
      if (failed(ack)) { showQueueError(errorText(ack)); return; }
      focusChat = ack.chat_id;
      if (panels[ack.chat_id]) { focusPanel(panels[ack.chat_id]); }
    });
  }

  var queueErrorTimer = null;
  function showQueueError(text) {
    // The refusal describes a moment (someone was quicker, the desk was full): it fades.
    setText(el.queueError, text);
    window.clearTimeout(queueErrorTimer);
    queueErrorTimer = window.setTimeout(function () { setText(el.queueError, ""); }, 30000);
  }

  function renderQueue() {
    var elapsed = Math.max(0, (Date.now() - queueAt) / 1000);
    setText(el.summary, queue.length ? fill(d.sWaitingCount, { count: queue.length }) : d.sQueueEmpty);
    el.takeNext.disabled = !queue.length;
    var hadFocus = el.waiting.contains(document.activeElement) ? document.activeElement.dataset.chatId : null;
    while (el.waiting.firstChild) { el.waiting.removeChild(el.waiting.firstChild); }
    queue.forEach(function (item) {
      var li = document.createElement("li");
      li.className = "waiting-item";
      li.dataset.chatId = String(item.chat_id);
      var head = document.createElement("p");
      head.className = "meta";
      var topic = document.createElement("strong");
      topic.textContent = topics[item.category] || item.category;
      head.appendChild(topic);
      var bits = [waited(item.waited_s + elapsed)];
      if (item.returned) { bits.push(d.sReturned); }
      if (item.wanted_role) { bits.push(fill(d.sForRole, { role: roles[item.wanted_role] || item.wanted_role })); }
      head.appendChild(document.createTextNode(" · " + bits.join(" · ")));
      li.appendChild(head);
      var first = document.createElement("p");
      first.className = "first-message";
      var text = item.first_message || "";
      first.textContent = text.length > FIRST_MESSAGE_SHOWN ? text.slice(0, FIRST_MESSAGE_SHOWN - 1) + "…" : text;
      first.id = "waiting-" + item.chat_id + "-text";
      li.appendChild(first);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = d.sAccept;
      button.dataset.chatId = String(item.chat_id);
      button.setAttribute("aria-describedby", first.id + " queue-error");
      button.addEventListener("click", function () { accept(item.chat_id, button); });
      li.appendChild(button);
      el.waiting.appendChild(li);
      if (hadFocus === String(item.chat_id)) { button.focus(); }
    });
  }
  el.takeNext.addEventListener("click", function () { accept(null, el.takeNext); });
  window.setInterval(renderQueueTimes, 30000);
  function renderQueueTimes() { if (queue.length && !el.waiting.contains(document.activeElement)) { renderQueue(); } }

  // ---- chat panels ---------------------------------------------------------------------
  function part(panel, name) { return panel.el.querySelector("[data-part='" + name + "']"); }
  function field(panel, name) { return panel.el.querySelector("[data-id='" + name + "']"); }

  function createPanel(item) {
    var node = el.template.content.firstElementChild.cloneNode(true);
    var prefix = "chat-" + item.chat_id + "-";
    node.id = prefix + "panel";
    node.dataset.chatId = String(item.chat_id);
    Array.prototype.forEach.call(node.querySelectorAll("[data-id]"), function (n) { n.id = prefix + n.dataset.id; });
    Array.prototype.forEach.call(node.querySelectorAll("[data-for]"), function (n) { n.htmlFor = prefix + n.dataset.for; });
    Array.prototype.forEach.call(node.querySelectorAll("[data-describe]"), function (n) {
      n.setAttribute("aria-describedby", n.dataset.describe.split(" ").map(function (x) { return prefix + x; }).join(" "));
    });
    var panel = {
      id: item.chat_id, el: node, byId: {}, byClient: {}, last: 0, outbox: [], flushing: false,
      lastTyping: 0, typingTimer: null, item: item, ownClients: {}, ready: false, mode: "live"
    };
    node.setAttribute("aria-labelledby", prefix + "title");
    part(panel, "title").id = prefix + "title";
    field(panel, "end-category").value = item.category;
    wirePanel(panel);
    fillColleagues(panel);
    panels[item.chat_id] = panel;
    el.chats.appendChild(node);
    return panel;
  }

  function focusPanel(panel) {
    focusChat = null;
    var target = panel.mode === "wrapup" ? field(panel, "end-outcome") : field(panel, "text");
    target.focus();
  }

  function updatePanel(panel, item) {
    panel.item = item;
    setText(part(panel, "title"), fill(d.sChatTitle, { id: item.chat_id, topic: topics[item.category] || item.category }));
    setText(part(panel, "visitor"), item.status === "ended" ? "" : item.visitor_connected ? d.sVisitorHere : d.sVisitorAway);
    var notes = part(panel, "notes");
    while (notes.firstChild) { notes.removeChild(notes.firstChild); }
    (item.notes || []).forEach(function (note) {
      var li = document.createElement("li");
      var by = document.createElement("strong");
      by.textContent = (note.by || "") + " " + clock(note.at) + ": ";
      li.appendChild(by);
      li.appendChild(document.createTextNode(note.text));
      notes.appendChild(li);
    });
    part(panel, "notes-box").hidden = !(item.notes && item.notes.length);
    var wrapup = item.wrap_up_needed || item.status === "ended";
    var hadFocus = panel.el.contains(document.activeElement);
    var switching = wrapup && panel.mode !== "wrapup";
    panel.mode = wrapup ? "wrapup" : "live";
    panel.el.dataset.mode = panel.mode;
    part(panel, "live").hidden = wrapup;
    part(panel, "end-summary").hidden = wrapup;
    var note = part(panel, "ended-note");
    note.hidden = !wrapup;
    if (wrapup) {
      setText(note, endedText(item.ended_by) + " " + d.sWrapupNeeded);
      part(panel, "end-box").open = true;
      if (switching && hadFocus) { field(panel, "end-outcome").focus(); }
    }
  }

  function endedText(by) {
    return by === "visitor" ? d.sEndedVisitor : by === "timeout" ? d.sEndedTimeout : d.sEndedStaff;
  }

  function fillColleagues(panel) {
    var group = part(panel, "colleagues");
    var select = field(panel, "transfer-to");
    var chosen = select.value;
    while (group.firstChild) { group.removeChild(group.firstChild); }
    var free = colleaguesFree();
    free.forEach(function (c) {
      var option = document.createElement("option");
      option.value = "staff:" + c.id;
      option.textContent = c.name + " · " + (roles[c.role] || c.role) + " · " + c.load + "/" + c.capacity;
      group.appendChild(option);
    });
    if (!free.length) {
      var none = document.createElement("option");
      none.disabled = true;
      none.value = "";
      none.textContent = d.sNoColleagues;
      group.appendChild(none);
    }
    select.value = chosen;
    if (select.value !== chosen) { select.value = ""; }
  }

  function removePanel(panel) {
    panel.el.remove();
    delete panels[panel.id];
    announce(fill(d.sGone, { id: panel.id }));
  }

  var chatsSeen = false;      // the first `chats` only draws; later new chats are announced

  function showChats(payload) {
    var items = payload.items || [];
    var seen = {};
    items.forEach(function (item) {
      seen[item.chat_id] = true;
      var panel = panels[item.chat_id];
      var fresh = !panel;
      if (fresh) { panel = createPanel(item); }
      updatePanel(panel, item);
      if (fresh) {
        resume(panel);
        if (chatsSeen && item.status === "active") {
          announce(fill(d.sNewChat, { id: item.chat_id, topic: topics[item.category] || item.category }));
        }
      }
      if (focusChat === item.chat_id) { focusPanel(panel); }
    });
    chatsSeen = true;
    Object.keys(panels).forEach(function (id) {
      if (!seen[id]) { removePanel(panels[id]); }
    });
    el.noChats.hidden = items.length > 0;
  }

  // ---- messages ------------------------------------------------------------------------
  function senderLabel(m, mine) {
    if (m.from === "visitor") { return d.sVisitor; }
    if (m.from === "staff") { return mine ? d.sYou : d.sStaff; }
    return "";
  }

  function messageNode(m, mine) {
    var li = document.createElement("li");
    li.className = "msg msg-" + (m.from === "visitor" ? "visitor" : m.from === "staff" ? "staff" : "system") + (mine ? " msg-own" : "");
    var label = senderLabel(m, mine);
    if (label) {
      var who = document.createElement("span");
      who.className = "msg-from";
      who.textContent = label;
      li.appendChild(who);
    }
    var text = document.createElement("p");
    text.className = "msg-text";
    text.textContent = m.text;
    li.appendChild(text);
    var meta = document.createElement("span");
    meta.className = "msg-meta";
    li.appendChild(meta);
    return li;
  }

  function setMeta(li, state, at, note) {
    li.dataset.state = state;
    setText(li.querySelector(".msg-meta"), state === "sent" ? clock(at)
      : state === "sending" ? d.sSending
      : state === "queued" ? d.sQueued
      : d.sFailed + (note ? " " + note : ""));
  }

  function place(list, li, id) {
    var items = list.children;
    for (var i = 0; i < items.length; i += 1) {
      var other = items[i].dataset.id;
      if (!other || Number(other) > id) { list.insertBefore(li, items[i]); return; }
    }
    list.appendChild(li);
  }

  function receive(panel, m, live) {
    if (typeof m.id !== "number" || panel.byId[m.id]) { return; }
    if (live && m.id > panel.last) { panel.last = m.id; }
    var list = part(panel, "messages");
    var li = m.client_id ? panel.byClient[m.client_id] : null;
    if (li) { delete panel.byClient[m.client_id]; li.remove(); }
    else { li = messageNode(m, m.from === "staff" && !!m.client_id && !!panel.ownClients[m.client_id]); }
    li.dataset.id = String(m.id);
    setMeta(li, "sent", m.at);
    panel.byId[m.id] = li;
    place(list, li, m.id);
    if (m.from === "visitor") { setText(part(panel, "typing"), ""); }
    list.scrollTop = list.scrollHeight;
  }

  function showPending(panel, item, state) {
    var li = panel.byClient[item.client_id];
    var list = part(panel, "messages");
    if (!li) {
      li = messageNode({ from: "staff", text: item.text }, true);
      panel.byClient[item.client_id] = li;
      list.appendChild(li);
    }
    setMeta(li, state);
    list.scrollTop = list.scrollHeight;
  }

  function flush(panel) {
    if (panel.flushing || !panel.ready || !socket.connected || !panel.outbox.length || !panels[panel.id]) { return; }
    var item = panel.outbox[0];
    var error = field(panel, "send-error");
    panel.flushing = true;
    showPending(panel, item, "sending");
    call("send", { chat_id: panel.id, text: item.text, client_id: item.client_id }, function (ack) {
      panel.flushing = false;
      if (ack === null) { showPending(panel, item, "queued"); window.setTimeout(function () { flush(panel); }, 2000); return; }
      panel.outbox = panel.outbox.filter(function (other) { return other.client_id !== item.client_id; });
      if (ack.error) {
        var li = panel.byClient[item.client_id];
        if (li) { setMeta(li, "failed", null, errorText(ack)); delete panel.byClient[item.client_id]; }
        setText(error, errorText(ack));
      } else if (typeof ack.id === "number") {
        receive(panel, { id: ack.id, from: "staff", text: item.text, at: new Date().toISOString(), client_id: item.client_id }, false);
      }
      flush(panel);
    });
  }

  function resume(panel) {
    panel.ready = false;
    call("resume", { chat_id: panel.id, after: panel.last }, function (ack) {
      if (ack === null) { if (socket.connected && panels[panel.id]) { window.setTimeout(function () { resume(panel); }, 2000); } return; }
      if (ack.error) { setText(field(panel, "send-error"), errorText(ack)); return; }
      panel.ready = true;
      flush(panel);
    });
  }

  // ---- panel controls ------------------------------------------------------------------
  function wirePanel(panel) {
    var text = field(panel, "text");
    var sendError = field(panel, "send-error");
    function send() {
      var value = text.value.trim();
      setText(sendError, "");
      if (!value) { setText(sendError, d.sWriteFirst); return; }
      var item = { client_id: newClientId(), text: value };
      panel.ownClients[item.client_id] = true;
      panel.outbox.push(item);
      showPending(panel, item, socket.connected ? "sending" : "queued");
      text.value = "";
      flush(panel);
    }
    part(panel, "send-form").addEventListener("submit", function (event) { event.preventDefault(); send(); });
    text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); send(); }
    });
    text.addEventListener("input", function () {
      var now = Date.now();
      if (socket.connected && panel.mode === "live" && now - panel.lastTyping >= TYPING_EVERY_MS) {
        panel.lastTyping = now;
        socket.emit("typing", { chat_id: panel.id });
      }
    });

    var canned = field(panel, "canned");
    canned.addEventListener("change", function () {
      var option = canned.options[canned.selectedIndex];
      if (!option || !option.value) { return; }
      var body = option.dataset.body || "";
      var start = text.selectionStart;
      var end = text.selectionEnd;
      if (typeof start === "number" && text.value) {
        text.value = text.value.slice(0, start) + body + text.value.slice(end);
        text.selectionStart = text.selectionEnd = start + body.length;
      } else {
        text.value = body;
      }
      canned.value = "";
      text.focus();
    });

    var transferForm = part(panel, "transfer-form");
    transferForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = field(panel, "transfer-error");
      var target = field(panel, "transfer-to").value;
      setText(error, "");
      if (!target) { setText(error, d.sChoose); field(panel, "transfer-to").focus(); return; }
      var payload = { chat_id: panel.id, note: field(panel, "transfer-note").value.trim() };
      if (target.indexOf("staff:") === 0) { payload.to_staff = Number(target.slice(6)); }
      else { payload.to_role = target.slice(5); }
      call("transfer", payload, function (ack) {
        if (failed(ack)) { setText(error, errorText(ack)); }
      });
    });

    var blockForm = part(panel, "block-form");
    blockForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = field(panel, "block-error");
      var hours = blockForm.querySelector("input[name=hours]:checked");
      setText(error, "");
      call("block", { chat_id: panel.id, hours: Number(hours ? hours.value : 24), reason: field(panel, "block-reason").value.trim() }, function (ack) {
        if (failed(ack)) { setText(error, errorText(ack)); }
      });
    });

    var endForm = part(panel, "end-form");
    endForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = field(panel, "end-error");
      var outcome = field(panel, "end-outcome").value;
      setText(error, "");
      if (!outcome) { setText(error, d.sChoose); field(panel, "end-outcome").focus(); return; }
      var button = endForm.querySelector("button[type=submit]");
      button.disabled = true;
      call("end", { chat_id: panel.id, category: field(panel, "end-category").value, outcome: outcome }, function (ack) {
        button.disabled = false;
        if (failed(ack)) { setText(error, errorText(ack)); }
      });
    });
  }

  // ---- socket events -------------------------------------------------------------------
  socket.on("connect", function () {
    showConnection("connected");
    root.dataset.live = "yes";
    Object.keys(panels).forEach(function (id) { resume(panels[id]); });
  });
  socket.on("disconnect", function () {
    attempt += 1;
    showConnection("reconnecting");
    root.dataset.live = "no";
    Object.keys(panels).forEach(function (id) {
      var panel = panels[id];
      panel.flushing = false;
      panel.ready = false;
      panel.outbox.forEach(function (item) { showPending(panel, item, "queued"); });
    });
  });
  socket.on("connect_error", function () { showConnection("reconnecting"); });
  socket.on("desk", showDesk);
  socket.on("colleagues", showColleagues);
  socket.on("queue", function (payload) {
    queue = payload.items || [];
    queueAt = Date.now();
    renderQueue();
  });
  socket.on("chats", showChats);
  socket.on("message", function (m) {
    var panel = panels[m.chat_id];
    if (panel) { receive(panel, m, true); }
  });
  socket.on("typing", function (t) {
    var panel = panels[t.chat_id];
    if (!panel || panel.mode !== "live") { return; }
    var node = part(panel, "typing");
    setText(node, d.sTyping);
    window.clearTimeout(panel.typingTimer);
    panel.typingTimer = window.setTimeout(function () { setText(node, ""); }, TYPING_SHOWN_MS);
  });
  socket.on("ended", function (e) {
    var panel = panels[e.chat_id];
    if (!panel) { return; }
    var list = part(panel, "messages");
    var li = messageNode({ from: "system", text: endedText(e.by) }, false);
    list.appendChild(li);
    setText(part(panel, "typing"), "");
  });

  showConnection("connecting");
  renderQueue();
})();
