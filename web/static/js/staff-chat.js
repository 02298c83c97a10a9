// The counsellor's and adviser's live chat desk over the /staff socket.io namespace
// (docs/realtime.md), on top of chat-core.js (window.KoppiChat). Texts come from data-*
// attributes and the panel <template>; user and server text goes in with textContent only.
(function () {
  "use strict";
  var root = document.getElementById("staff-chat");
  var K = window.KoppiChat;
  if (!root || !K || typeof io !== "function") { return; }
  var d = root.dataset;
  var TYPING_EVERY_MS = 2000;
  var TYPING_SHOWN_MS = 6000;
  var ACK_MS = 15000;
  var FIRST_MESSAGE_SHOWN = 300;
  var OWN_KEY = "koppi.staff." + d.staffId + ".own";   // chat id -> client ids this person sent
  var fill = K.fill;
  var setText = K.setText;

  function $(id) { return document.getElementById(id); }
  var el = {
    connection: $("staff-connection"), announce: $("staff-announce"),
    available: $("available"), availableError: $("available-error"),
    load: $("desk-load"), open: $("desk-open"),
    summary: $("queue-summary"), takeNext: $("take-next"), queueError: $("queue-error"),
    waiting: $("waiting-list"), noChats: $("no-chats"), chats: $("my-chats"),
    mineHeading: $("mine-heading"), template: $("chat-panel-template")
  };

  function errorText(ack) { return K.errorText(ack, d.sError); }
  function failed(ack) { return ack === null || !!ack.error; }
  function clock(iso) { return K.moment(iso, d.lang, false); }
  function announce(text) { setText(el.announce, ""); window.setTimeout(function () { setText(el.announce, text); }, 50); }
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
  function title(chatId, category) { return fill(d.sChatTitle, { id: chatId, topic: topics[category] || category }); }

  var socket = io("/staff", { transports: ["websocket", "polling"] });
  var calls = K.caller(socket, ACK_MS);
  var call = calls.call;
  var colleagues = [];        // everyone on the console, from `colleagues`
  var panels = {};            // chat_id -> panel
  var focusChat = null;       // a chat just accepted: its message box gets the keyboard
  var ended = false;          // signed out or expired: the server closed the socket for good
  var own = K.store.get(OWN_KEY, {});

  // ---- connection ----------------------------------------------------------------------
  function showConnection(state) { K.showConnection(el.connection, d, state); }

  function sessionEnded() {
    ended = true;
    showConnection("ended");   // a status region: it is announced without taking the keyboard
    // Unsent messages will not go out from this page any more: say so on each.
    Object.keys(panels).forEach(function (id) {
      var panel = panels[id];
      panel.outbox.items.forEach(function (item) {
        var li = panel.byClient[item.client_id];
        if (li) { K.setMeta(li, d, "failed", null, null); delete panel.byClient[item.client_id]; }
      });
      panel.outbox.items = [];
    });
  }

  // ---- desk ----------------------------------------------------------------------------
  el.available.addEventListener("change", function () {
    var on = el.available.checked;
    setText(el.availableError, "");
    el.available.removeAttribute("aria-invalid");
    el.available.disabled = true;
    call("available", { on: on }, function (ack) {
      el.available.disabled = false;
      if (failed(ack)) {
        el.available.checked = !on;
        setText(el.availableError, errorText(ack));
        K.markInvalid(ack, { on: el.available });
        return;
      }
      root.dataset.available = on ? "yes" : "no";
    });
  });

  function showDesk(payload) {
    if (!el.available.disabled) { el.available.checked = !!payload.available; }
    root.dataset.available = payload.available ? "yes" : "no";
    setText(el.load, fill(d.sLoad, { load: payload.load, capacity: payload.capacity }));
    setText(el.open, payload.open ? d.sOpen : d.sClosed);
  }

  function showColleagues(payload) {
    colleagues = payload.items || [];
    Object.keys(panels).forEach(function (id) { fillColleagues(panels[id]); });
  }

  // After the whole list on connect, the server sends only what changed: entries to add or
  // replace (by `key`) and the keys gone.
  function applyChanges(list, delta, key) {
    var gone = {};
    (delta.gone || []).forEach(function (k) { gone[k] = true; });
    var changed = {};
    (delta.items || []).forEach(function (item) { changed[item[key]] = item; });
    var kept = list.filter(function (item) { return !gone[item[key]] && !changed[item[key]]; });
    (delta.items || []).forEach(function (item) { kept.push(item); });
    return kept;
  }

  // The waiting list's documented order: urgent first, then returned chats, then the oldest.
  function queueOrder(a, b) {
    if (a.urgent !== b.urgent) { return a.urgent ? -1 : 1; }
    if (a.returned !== b.returned) { return a.returned ? -1 : 1; }
    if (a.requested_at !== b.requested_at) { return a.requested_at < b.requested_at ? -1 : 1; }
    return a.chat_id - b.chat_id;
  }

  // ---- the waiting list ----------------------------------------------------------------
  var queue = [];

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

  function waitingItem(item) {
    var li = document.createElement("li");
    li.className = "waiting-item" + (item.urgent ? " urgent" : "");
    li.dataset.chatId = String(item.chat_id);
    var head = document.createElement("p");
    head.className = "meta";
    if (item.urgent) {   // a crisis word: first in the list, and said first
      var badge = document.createElement("span");
      badge.className = "badge badge-urgent";
      badge.textContent = d.sUrgent;
      head.appendChild(badge);
    }
    var topic = document.createElement("strong");
    topic.textContent = topics[item.category] || item.category;
    head.appendChild(topic);
    // Each entry's waiting time as the server counted it, plus the time since it came.
    var bits = [waited(item.waited_s + (Date.now() - item.receivedAt) / 1000)];
    if (item.returned) { bits.push(d.sReturned); }
    if (item.wanted_role) { bits.push(fill(d.sForRole, { role: roles[item.wanted_role] || item.wanted_role })); }
    head.appendChild(document.createTextNode(" · " + bits.join(" · ")));
    li.appendChild(head);
    var first = document.createElement("p");
    first.className = "first-message";
    // Masked per language by the server: the page's own, else Finnish.
    var texts = item.first_message || {};
    var text = texts[document.documentElement.lang] || texts.fi || "";
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
    return li;
  }

  function renderQueue() {
    setText(el.summary, queue.length ? fill(d.sWaitingCount, { count: queue.length }) : d.sQueueEmpty);
    el.takeNext.disabled = !queue.length;
    var hadFocus = el.waiting.contains(document.activeElement) ? document.activeElement.dataset.chatId : null;
    K.clear(el.waiting);
    queue.forEach(function (item) {
      var li = waitingItem(item);
      el.waiting.appendChild(li);
      if (hadFocus === String(item.chat_id)) { li.querySelector("button").focus(); }
    });
  }
  el.takeNext.addEventListener("click", function () { accept(null, el.takeNext); });
  window.setInterval(function () {
    if (queue.length && !el.waiting.contains(document.activeElement)) { renderQueue(); }
  }, 30000);

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
      id: item.chat_id, el: node, title: title(item.chat_id, item.category), byId: {}, byClient: {},
      last: 0, typingTimer: null, ready: false, mode: "live"
    };
    panel.outbox = panelOutbox(panel);
    node.setAttribute("aria-labelledby", prefix + "title");
    part(panel, "title").id = prefix + "title";
    field(panel, "end-category").value = item.category;
    wireSend(panel);
    wireCanned(panel);
    wireRefer(panel);
    wireTransfer(panel);
    wireBlock(panel);
    wireEnd(panel);
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

  function showNotes(panel, notes) {
    var list = part(panel, "notes");
    K.clear(list);
    notes.forEach(function (note) {
      var li = document.createElement("li");
      var by = document.createElement("strong");
      by.textContent = (note.by || "") + " " + clock(note.at) + ": ";
      li.appendChild(by);
      li.appendChild(document.createTextNode(note.text));
      list.appendChild(li);
    });
    part(panel, "notes-box").hidden = !notes.length;
  }

  function updatePanel(panel, item) {
    panel.title = title(item.chat_id, item.category);
    setText(part(panel, "title"), panel.title);
    part(panel, "urgent").hidden = !item.urgent;
    setText(part(panel, "visitor"), item.status === "ended" ? "" : item.visitor_connected ? d.sVisitorHere : d.sVisitorAway);
    showNotes(panel, item.notes || []);
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
    var me = Number(d.staffId);
    K.clear(group);
    var free = colleagues.filter(function (c) { return c.id !== me && c.available && c.present && c.load < c.capacity; });
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

  // After a transfer or a wrap-up the keyboard goes to the next chat, or to the heading.
  function removePanel(panel) {
    var active = document.activeElement;
    var hadFocus = panel.el.contains(active) || !active || active === document.body;
    var next = panel.el.nextElementSibling || panel.el.previousElementSibling;
    panel.el.remove();
    delete panels[panel.id];
    delete own[panel.id];
    K.store.set(OWN_KEY, own);
    announce(fill(d.sGone, { id: panel.id }));
    if (hadFocus) { (next || el.mineHeading).focus(); }
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
  // Own: sent from this tab (client ids kept in sessionStorage), or written under this
  // person's name (a console opened afresh).
  function isMine(panel, m) {
    if (m.from !== "staff") { return false; }
    if (m.client_id && (own[panel.id] || []).indexOf(m.client_id) >= 0) { return true; }
    return !!m.name && m.name === d.staffName;
  }

  function labelFor(panel, m, mine) {
    if (m.from === "visitor") { return { text: d.sVisitor, context: panel.title }; }
    if (m.from === "staff") { return mine ? { text: d.sYou } : { text: m.name || d.sStaff, context: panel.title }; }
    return null;
  }

  function scrollDown(list) { list.scrollTop = list.scrollHeight; }

  function receive(panel, m, live) {
    if (typeof m.id !== "number" || panel.byId[m.id]) { return; }
    // As on the visitor's page: the cursor moves only after the panel's resume was
    // acknowledged, so a message that overtook the replay cannot hide a gap.
    if (live && panel.resumed && m.id > panel.last) { panel.last = m.id; }
    var list = part(panel, "messages");
    var li = m.client_id ? panel.byClient[m.client_id] : null;
    if (li) { delete panel.byClient[m.client_id]; }   // updated in place: announced once
    else {
      var mine = isMine(panel, m);
      li = K.messageNode(m, labelFor(panel, m, mine), mine);
      if (m.from === "visitor" && m.flags && m.flags.length) { li.insertBefore(flagsNode(m.flags), li.querySelector(".msg-meta")); }
    }
    li.dataset.id = String(m.id);
    K.setMeta(li, d, "sent", m.at);
    panel.byId[m.id] = li;
    K.place(list, li, m.id);
    if (m.from === "visitor") { setText(part(panel, "typing"), ""); }
    scrollDown(list);
  }

  // Watched words a young person's message matched, for staff only: "Check: <phrase>".
  function flagsNode(flags) {
    var box = document.createElement("span");
    box.className = "msg-flags";
    flags.forEach(function (f) {
      var badge = document.createElement("span");
      badge.className = "badge " + (f.action === "crisis" ? "badge-urgent" : "badge-review");
      badge.textContent = fill(d.sCheck, { phrase: String(f.phrase || "") });
      box.appendChild(badge);
    });
    return box;
  }

  function showPending(panel, item, state) {
    var li = panel.byClient[item.client_id];
    var list = part(panel, "messages");
    if (!li) {
      li = K.messageNode({ from: "staff", text: item.text }, { text: d.sYou }, true);
      panel.byClient[item.client_id] = li;
      list.appendChild(li);
    }
    K.setMeta(li, d, state);
    scrollDown(list);
  }

  function panelOutbox(panel) {
    return K.outbox({
      ready: function () { return panel.ready && socket.connected && !!panels[panel.id]; },
      send: function (item, done) {
        call("send", { chat_id: panel.id, text: item.text, client_id: item.client_id }, done);
      },
      pending: function (item, state) { showPending(panel, item, state); },
      limited: function (ack) { setText(field(panel, "send-error"), errorText(ack)); },
      failed: function (item, ack) {
        var li = panel.byClient[item.client_id];
        if (li) { K.setMeta(li, d, "failed", null, errorText(ack)); delete panel.byClient[item.client_id]; }
        setText(field(panel, "send-error"), errorText(ack));
        K.markInvalid(ack, { text: field(panel, "text") });
      },
      sent: function (item, ack) {
        if (typeof ack.id === "number") {
          receive(panel, { id: ack.id, from: "staff", text: item.text, at: K.nowIso(), client_id: item.client_id }, false);
        }
      }
    });
  }

  function resume(panel) {
    panel.ready = false;
    panel.resumed = false;
    call("resume", { chat_id: panel.id, after: panel.last }, function (ack) {
      if (ack === null) { if (socket.connected && panels[panel.id]) { window.setTimeout(function () { resume(panel); }, 2000); } return; }
      if (ack.error) { setText(field(panel, "send-error"), errorText(ack)); return; }
      if (typeof ack.last_id === "number" && ack.last_id > panel.last) { panel.last = ack.last_id; }
      if (ack.more) { resume(panel); return; }   // a long transcript: the next page
      panel.resumed = true;
      panel.ready = true;
      panel.outbox.flush();
    });
  }

  // ---- panel forms: one function each ----------------------------------------------------
  function wireSend(panel) {
    var text = field(panel, "text");
    var sendError = field(panel, "send-error");
    function send() {
      var value = text.value.trim();
      setText(sendError, "");
      text.removeAttribute("aria-invalid");
      if (!value) { setText(sendError, d.sWriteFirst); text.setAttribute("aria-invalid", "true"); return; }
      text.value = "";
      var item = panel.outbox.add(value);
      own[panel.id] = (own[panel.id] || []).concat([item.client_id]);
      K.store.set(OWN_KEY, own);
    }
    K.wireCompose(part(panel, "send-form"), text, send, function () {
      if (!socket.connected || panel.mode !== "live") { return false; }
      socket.emit("typing", { chat_id: panel.id });
      return true;
    }, TYPING_EVERY_MS);
  }

  // Referral cards: search the public HSDS API, then send the chosen service as a card.
  function wireRefer(panel) {
    var results = part(panel, "refer-results");
    var error = field(panel, "refer-error");
    function sendCard(service, button) {
      button.disabled = true;
      setText(error, "");
      call("refer", { chat_id: panel.id, service_id: service.id, client_id: K.newClientId() }, function (ack) {
        button.disabled = false;
        if (failed(ack)) { setText(error, errorText(ack)); return; }
        receive(panel, { id: ack.id, from: "staff", text: service.name, at: new Date().toISOString(),
          name: d.staffName, referral: ack.referral }, true);
      });
    }
    part(panel, "refer-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var q = field(panel, "refer-q").value.trim();
      if (!q) { return; }
      setText(error, "");
      fetch("/api/hsds/services?per_page=6&search=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (page) {
          while (results.firstChild) { results.removeChild(results.firstChild); }
          var found = (page.contents || []).filter(function (s) { return s.status === "active" || s.status === "temporarily closed"; });
          if (!found.length) {
            var none = document.createElement("li");
            none.textContent = results.dataset.none;
            results.appendChild(none);
            return;
          }
          found.forEach(function (service) {
            var li = document.createElement("li");
            var name = document.createElement("strong");
            name.textContent = service.name;
            var button = document.createElement("button");
            button.type = "button";
            button.className = "secondary";
            button.textContent = results.dataset.send;
            button.addEventListener("click", function () { sendCard(service, button); });
            li.appendChild(name);
            li.appendChild(document.createTextNode(" "));
            li.appendChild(button);
            results.appendChild(li);
          });
        })
        .catch(function () { setText(error, d.sError); });
    });
  }

  function wireCanned(panel) {
    var text = field(panel, "text");
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
  }

  // Submit a panel form: clear its error and invalid marks, call, show a refusal on its field.
  function submit(panel, errorId, controls, event, payload, button) {
    var error = field(panel, errorId);
    setText(error, "");
    K.clearInvalid(controls);
    if (button) { button.disabled = true; }
    call(event, payload, function (ack) {
      if (button) { button.disabled = false; }
      if (!failed(ack)) { return; }
      setText(error, errorText(ack));
      K.markInvalid(ack, controls);
    });
  }

  function wireTransfer(panel) {
    var to = field(panel, "transfer-to");
    var note = field(panel, "transfer-note");
    var controls = { to_staff: to, to_role: to, note: note };
    part(panel, "transfer-form").addEventListener("submit", function (event) {
      event.preventDefault();
      if (!to.value) {
        K.clearInvalid(controls);
        setText(field(panel, "transfer-error"), d.sChoose);
        K.markInvalid({ field: "to_role" }, controls);
        return;
      }
      var payload = { chat_id: panel.id, note: note.value.trim() };
      if (to.value.indexOf("staff:") === 0) { payload.to_staff = Number(to.value.slice(6)); }
      else { payload.to_role = to.value.slice(5); }
      submit(panel, "transfer-error", controls, "transfer", payload, null);
    });
  }

  function wireBlock(panel) {
    var form = part(panel, "block-form");
    var controls = { hours: form.querySelector("input[name=hours]"), reason: field(panel, "block-reason") };
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var hours = form.querySelector("input[name=hours]:checked");
      submit(panel, "block-error", controls, "block",
        { chat_id: panel.id, hours: Number(hours ? hours.value : 24), reason: controls.reason.value.trim() }, null);
    });
  }

  function wireEnd(panel) {
    var form = part(panel, "end-form");
    var controls = { category: field(panel, "end-category"), outcome: field(panel, "end-outcome") };
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!controls.outcome.value) {
        K.clearInvalid(controls);
        setText(field(panel, "end-error"), d.sChoose);
        K.markInvalid({ field: "outcome" }, controls);
        return;
      }
      submit(panel, "end-error", controls, "end",
        { chat_id: panel.id, category: controls.category.value, outcome: controls.outcome.value },
        form.querySelector("button[type=submit]"));
    });
  }

  // ---- socket events -------------------------------------------------------------------
  socket.on("connect", function () {
    showConnection("connected");
    Object.keys(panels).forEach(function (id) { resume(panels[id]); });
  });
  // Messages between the service's processes were lost for a while: read each chat again
  // from its last message shown (duplicates are dropped by id).
  socket.on("resync", function () {
    Object.keys(panels).forEach(function (id) { if (panels[id].resumed) { resume(panels[id]); } });
  });
  socket.on("disconnect", function (reason) {
    calls.reset();
    // Controls waiting for an answer that will not come any more are usable again.
    el.available.disabled = false;
    el.available.checked = d.available === "yes";
    el.takeNext.disabled = !queue.length;
    Array.prototype.forEach.call(root.querySelectorAll(".chat-panel button:disabled, .waiting-item button:disabled"), function (b) {
      b.disabled = false;
    });
    Object.keys(panels).forEach(function (id) {
      panels[id].ready = false;
      panels[id].resumed = false;
      panels[id].outbox.disconnected();
    });
    // The server closes the socket itself only when the session ended (sign-out, expiry);
    // socket.io does not reconnect then.
    if (reason === "io server disconnect") { sessionEnded(); } else { showConnection("reconnecting"); }
  });
  socket.on("connect_error", function () {
    if (!socket.active) { sessionEnded(); } else if (!ended) { showConnection("reconnecting"); }
  });
  socket.on("desk", showDesk);
  socket.on("colleagues", showColleagues);
  function received(items) {
    var now = Date.now();
    items.forEach(function (item) { item.receivedAt = now; });
    return items;
  }
  socket.on("queue", function (payload) {
    queue = received(payload.items || []);
    renderQueue();
  });
  socket.on("queue_changed", function (delta) {
    received(delta.items || []);
    queue = applyChanges(queue, delta, "chat_id");
    queue.sort(queueOrder);
    renderQueue();
  });
  socket.on("colleagues_changed", function (delta) {
    // In the server's order (by id), so a colleague whose entry changed keeps their place.
    var items = applyChanges(colleagues, delta, "id");
    items.sort(function (a, b) { return a.id - b.id; });
    showColleagues({ items: items });
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
    if (!node.textContent) {
      // Screen readers hear which chat it is; the panel shows only the notice.
      var where = document.createElement("span");
      where.className = "visually-hidden";
      where.textContent = panel.title + ": ";
      node.appendChild(where);
      node.appendChild(document.createTextNode(d.sTyping));
    }
    window.clearTimeout(panel.typingTimer);
    panel.typingTimer = window.setTimeout(function () { K.clear(node); }, TYPING_SHOWN_MS);
  });
  socket.on("ended", function (e) {
    var panel = panels[e.chat_id];
    if (!panel) { return; }
    var list = part(panel, "messages");
    list.appendChild(K.messageNode({ from: "system", text: endedText(e.by) }, null, false));
    K.clear(part(panel, "typing"));
  });

  showConnection("connecting");
  renderQueue();
})();
