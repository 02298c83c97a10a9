// The visitor's live chat over the /chat socket.io namespace (docs/realtime.md).
// Texts come from the page's data-* attributes; user and server text goes in with textContent.
// sessionStorage (this tab only) keeps the visitor token, the conversation seen so far with the
// last message id, and unsent messages, so a reload or a lost connection loses and repeats nothing.
(function () {
  "use strict";
  var root = document.getElementById("chat");
  if (!root || typeof io !== "function") { return; }
  var d = root.dataset;
  var KEY = "koppi.chat.";
  var TOKEN_KEY = KEY + "token";
  var TYPING_EVERY_MS = 2000;
  var TYPING_SHOWN_MS = 6000;
  var ACK_MS = 15000;

  function $(id) { return document.getElementById(id); }
  var el = {
    connection: $("chat-connection"),
    start: $("chat-start"), startForm: $("start-form"), category: $("chat-category"),
    first: $("chat-first"), startError: $("start-error"), startButton: $("start-button"),
    closedNotice: $("chat-closed-notice"), nextOpen: root.querySelectorAll(".next-open"),
    waiting: $("chat-waiting"), position: $("queue-position"), eta: $("queue-eta"),
    offer: $("offer"), convert: $("convert-button"), convertError: $("convert-error"),
    leave: $("leave-button"),
    converted: $("chat-converted"), code: $("converted-code"), link: $("converted-link"),
    room: $("chat-room"), withLine: $("chat-with"), staffName: $("staff-name"),
    messages: $("messages"), typing: $("typing"), sendForm: $("send-form"), text: $("chat-text"),
    sendError: $("send-error"), end: $("end-button"),
    ended: $("chat-ended"), endedReason: $("ended-reason"), rateForm: $("rate-form"),
    rateError: $("rate-error"), thanks: $("rate-thanks"), newChat: $("new-chat-button"),
    closed: $("chat-closed"), askForm: $("ask-form"), askCategory: $("ask-category"),
    askBody: $("ask-body")
  };

  // ---- storage -------------------------------------------------------------------------
  function load(name, fallback) {
    try {
      var raw = sessionStorage.getItem(KEY + name);
      return raw ? JSON.parse(raw) : fallback;
    } catch (e) { return fallback; }
  }
  function save(name, value) {
    try {
      if (value === null) { sessionStorage.removeItem(KEY + name); }
      else { sessionStorage.setItem(KEY + name, JSON.stringify(value)); }
    } catch (e) { /* private mode or full: the page still works, only a reload forgets */ }
  }
  function emptyLog() {
    return { chat_id: null, last: 0, staff: null, assigned: false, rated: false, dismissed: null, messages: [] };
  }

  var log = load("log", null) || emptyLog();        // the conversation seen so far
  var outbox = load("outbox", []);                   // [{client_id, text}] not yet acknowledged
  var pendingStart = load("start", null);            // {client_id, category, text} until acked
  var converted = load("converted", null);           // {chat_id, code, url}
  var status = { open: d.open !== "no", next_open: d.nextOpen || null };

  function saveLog() { save("log", log); }
  function saveOutbox() { save("outbox", outbox.length ? outbox : null); }

  function newClientId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }

  function moment(iso, withDay) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) { return ""; }
    var options = withDay
      ? { weekday: "long", day: "numeric", month: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "Europe/Helsinki" }
      : { hour: "2-digit", minute: "2-digit" };
    try { return when.toLocaleString(d.lang || undefined, options); } catch (e) { return when.toLocaleString(); }
  }

  function setText(node, text) { if (node.textContent !== text) { node.textContent = text; } }

  // ---- views ---------------------------------------------------------------------------
  var view = "start";
  var booting = true;     // no focus moves while the page first draws itself
  var lastQueue = null;   // the newest `queue` event since the chat was started
  var SECTIONS = ["start", "waiting", "converted", "room", "ended", "closed"];
  var FOCUS = {
    start: "chat-start-heading", waiting: "chat-waiting-heading", converted: "chat-converted-heading",
    room: "chat-text", ended: "chat-ended-heading", closed: "chat-closed-heading"
  };

  function show(name) {
    var changed = view !== name;
    view = name;
    root.dataset.view = name;
    SECTIONS.forEach(function (section) {
      var visible = section === name || (section === "room" && (name === "waiting" || name === "ended"));
      el[section].hidden = !visible;
    });
    el.sendForm.hidden = name === "ended";
    el.end.hidden = name !== "room";
    el.withLine.hidden = !log.staff || (name !== "room" && name !== "ended");
    if (name !== "room") { setText(el.typing, ""); }
    var active = document.activeElement;
    // Keep the keyboard where it was unless that control just disappeared.
    if (changed && !booting && (!active || active === document.body || active.offsetParent === null)) {
      var target = $(FOCUS[name]);
      if (target) { target.focus(); }
    }
  }

  function showConnection(state) {
    el.connection.dataset.state = state;
    setText(el.connection, state === "connected" ? d.sConnected : state === "reconnecting" ? d.sReconnecting : d.sConnecting);
  }

  function applyStatus(next) {
    status = { open: !!next.open, next_open: next.next_open || null };
    el.closedNotice.hidden = status.open;
    var when = status.next_open ? fill(d.sNextOpen, { when: moment(status.next_open, true) }) : "";
    Array.prototype.forEach.call(el.nextOpen, function (node) { setText(node, when); });
    setText(el.startButton, status.open ? d.sStart : d.sContinue);
  }

  function showQueue(q) {
    lastQueue = q;
    setText(el.position, fill(d.sPosition, { position: q.position }));
    var eta;
    if (q.eta_s === null || q.eta_s === undefined) { eta = d.sEtaUnknown; }
    else if (q.eta_s <= 0) { eta = d.sEtaSoon; }
    else { eta = fill(d.sEta, { minutes: Math.max(1, Math.ceil(q.eta_s / 60)) }); }
    setText(el.eta, eta);
    el.offer.hidden = !q.offer_question;
  }

  function setStaff(roleLabel, name) {
    var label = [roleLabel, name].filter(Boolean).join(" ");
    if (!label) { return; }
    log.staff = label;
    log.assigned = true;
    saveLog();
    setText(el.staffName, label);
  }

  function showEnded(by) {
    var who = log.staff || d.sStaff;
    var reason = by === "staff" ? fill(d.sEndedStaff, { name: who })
      : by === "timeout" ? d.sEndedTimeout
      : log.assigned ? d.sEndedVisitor : d.sLeftQueue;
    setText(el.endedReason, reason);
    el.rateForm.hidden = log.rated || !log.assigned;
    el.thanks.hidden = !log.rated;
    // Whatever could not be sent stays visible but will not go out any more.
    outbox.forEach(function (item) { markFailed(item.client_id, null); });
    outbox = [];
    saveOutbox();
    show("ended");
  }

  function showClosed(category, text) {
    el.askCategory.value = category || "";
    el.askBody.value = text || "";
    show("closed");
    $("chat-closed-heading").focus();
  }

  // ---- messages ------------------------------------------------------------------------
  var byId = {};       // message id -> <li>
  var byClient = {};   // client_id -> <li> of an own message not yet acknowledged

  function senderLabel(m) {
    if (m.from === "visitor") { return d.sYou; }
    if (m.from === "staff") { return m.name || log.staff || d.sStaff; }
    return "";
  }

  function messageNode(m) {
    var li = document.createElement("li");
    li.className = "msg msg-" + (m.from === "visitor" || m.from === "staff" ? m.from : "system");
    var label = senderLabel(m);
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
    var meta = li.querySelector(".msg-meta");
    meta.textContent = state === "sent" ? moment(at, false)
      : state === "sending" ? d.sSending
      : state === "queued" ? d.sQueued
      : d.sFailed + (note ? " " + note : "");
  }

  function place(li, id) {
    // Keep id order; unsent messages stay at the end.
    var items = el.messages.children;
    for (var i = 0; i < items.length; i += 1) {
      var other = items[i].dataset.id;
      if (!other || Number(other) > id) { el.messages.insertBefore(li, items[i]); return; }
    }
    el.messages.appendChild(li);
  }

  function scrollDown() { el.messages.scrollTop = el.messages.scrollHeight; }

  function remember(m) {
    log.messages.push({ id: m.id, from: m.from, text: m.text, at: m.at, name: m.from === "staff" ? (m.name || log.staff) : undefined });
  }

  // A message from the server (live, replayed, or the acknowledgement of one's own).
  function receive(m, live) {
    if (typeof m.id !== "number" || byId[m.id]) { return; }
    if (live && m.id > log.last) { log.last = m.id; }
    var li = m.client_id ? byClient[m.client_id] : null;
    if (li) {
      delete byClient[m.client_id];
      li.remove();
    } else {
      li = messageNode(m);
    }
    li.dataset.id = String(m.id);
    setMeta(li, "sent", m.at);
    byId[m.id] = li;
    place(li, m.id);
    remember(m);
    saveLog();
    if (m.from === "staff") { setText(el.typing, ""); }
    scrollDown();
  }

  function showPending(item, state) {
    var li = byClient[item.client_id];
    if (!li) {
      li = messageNode({ from: "visitor", text: item.text });
      byClient[item.client_id] = li;
      el.messages.appendChild(li);
    }
    setMeta(li, state);
    scrollDown();
  }

  function markFailed(clientId, note) {
    var li = byClient[clientId];
    if (li) { setMeta(li, "failed", null, note); delete byClient[clientId]; }
  }

  function redraw() {
    while (el.messages.firstChild) { el.messages.removeChild(el.messages.firstChild); }
    byId = {};
    byClient = {};
    log.messages.sort(function (a, b) { return a.id - b.id; });
    log.messages.forEach(function (m) {
      var li = messageNode(m);
      li.dataset.id = String(m.id);
      setMeta(li, "sent", m.at);
      byId[m.id] = li;
      el.messages.appendChild(li);
    });
    outbox.forEach(function (item) { showPending(item, "queued"); });
    setText(el.staffName, log.staff || "");
  }

  // Put the current chat away for good: later resumes must not bring its ended state back.
  function dismiss() {
    var old = log.chat_id !== null ? log.chat_id : log.dismissed;
    resetChat();
    log.dismissed = old;
    saveLog();
  }

  function resetChat() {
    log = emptyLog();
    outbox = [];
    saveLog();
    saveOutbox();
    redraw();
  }

  // ---- the socket ----------------------------------------------------------------------
  var socket = io("/chat", {
    auth: function (cb) { cb({ token: sessionStorage.getItem(TOKEN_KEY) }); },
    transports: ["websocket", "polling"]
  });
  var ready = false;      // the view has been restored since the last connect
  var attempt = 0;        // invalidates acknowledgements that belong to an earlier connection
  var flushing = false;

  function call(event, payload, done) {
    var mine = attempt;
    socket.timeout(ACK_MS).emit(event, payload, function (err, ack) {
      if (mine !== attempt) { return; }
      done(err ? null : (ack || {}));
    });
  }

  function errorText(ack) { return (ack && ack.message) || d.sError; }

  function flush() {
    if (flushing || !ready || !socket.connected || !outbox.length) { return; }
    var item = outbox[0];
    flushing = true;
    showPending(item, "sending");
    call("send", { text: item.text, client_id: item.client_id }, function (ack) {
      flushing = false;
      if (ack === null) {               // no answer in time: try again while connected
        showPending(item, "queued");
        window.setTimeout(flush, 2000);
        return;
      }
      if (ack.error === "rate_limited") {
        setText(el.sendError, errorText(ack));
        showPending(item, "queued");
        window.setTimeout(function () { setText(el.sendError, ""); flush(); }, 1000 * (ack.retry_after || 5));
        return;
      }
      outbox = outbox.filter(function (other) { return other.client_id !== item.client_id; });
      saveOutbox();
      if (ack.error) {
        markFailed(item.client_id, errorText(ack));
        setText(el.sendError, errorText(ack));
      } else if (typeof ack.id === "number") {
        receive({ id: ack.id, from: "visitor", text: item.text, at: new Date().toISOString().replace(/\.\d+Z$/, "Z"), client_id: item.client_id }, false);
      }
      flush();
    });
  }

  function sendStart() {
    if (!pendingStart || !ready || !socket.connected) { return; }
    var start = pendingStart;
    lastQueue = null;
    el.startButton.disabled = true;
    call("start", { category: start.category, text: start.text, client_id: start.client_id }, function (ack) {
      el.startButton.disabled = false;
      if (ack === null) { window.setTimeout(sendStart, 2000); return; }
      pendingStart = null;
      save("start", null);
      if (ack.error === "closed") { applyStatus({ open: false, next_open: status.next_open }); showClosed(start.category, start.text); return; }
      if (ack.error) {
        if (view === "start") {
          var message = errorText(ack);
          if (ack.error === "blocked" && ack.until) { message += " " + fill(d.sBlockedUntil, { when: moment(ack.until, true) }); }
          setText(el.startError, message);
          el.first.focus();
        }
        return;
      }
      log.chat_id = ack.chat_id;
      receive({ id: ack.message_id, from: "visitor", text: start.text, at: new Date().toISOString().replace(/\.\d+Z$/, "Z"), client_id: start.client_id }, false);
      if (view === "start") {
        if (ack.position === 0) { show("room"); }
        else {
          if (!lastQueue) { showQueue({ position: ack.position, eta_s: ack.eta_s, offer_question: false }); }
          show("waiting");
        }
      }
      flush();
    });
  }

  function applyState(state) {
    if (!state) {
      if (view === "waiting" || view === "room" || view === "ended") { resetChat(); show("start"); }
      return;
    }
    if (state.status === "ended" && log.dismissed === state.chat_id) { return; }
    log.chat_id = state.chat_id;
    log.rated = !!state.rated || log.rated;
    saveLog();
    if (state.status === "waiting") {
      showQueue(state);
      show("waiting");
    } else if (state.status === "active") {
      setStaff(state.role_label, state.name);
      show("room");
    } else if (converted && converted.chat_id === state.chat_id) {
      showConverted(converted);
    } else if (state.rated && view !== "ended") {
      dismiss();              // a finished, rated chat: offer a fresh start
      show("start");
    } else {
      showEnded(state.ended_by);
    }
  }

  function resume() {
    var after = log.last;
    call("resume", { after: after }, function (ack) {
      if (ack === null) { if (socket.connected) { window.setTimeout(resume, 2000); } return; }
      var state = ack.chat || null;
      if (state && log.chat_id !== null && state.chat_id !== log.chat_id && !pendingStart) {
        // This tab remembered another chat: start over from the whole transcript.
        resetChat();
        resume();
        return;
      }
      if (pendingStart && (!state || state.status === "ended")) {
        booting = false;
        ready = true;
        sendStart();
        return;
      }
      applyState(state);
      booting = false;
      ready = true;
      sendStart();
      flush();
    });
  }

  socket.on("connect", function () {
    showConnection("connected");
    ready = false;
    resume();
  });
  socket.on("disconnect", function () {
    attempt += 1;
    flushing = false;
    ready = false;
    el.startButton.disabled = false;
    el.convert.disabled = false;
    converting = false;
    showConnection("reconnecting");
    outbox.forEach(function (item) { showPending(item, "queued"); });
  });
  socket.on("connect_error", function () { showConnection("reconnecting"); });
  socket.on("session", function (payload) {
    if (payload && payload.token) {
      try { sessionStorage.setItem(TOKEN_KEY, payload.token); } catch (e) { /* kept for this page only */ }
    }
  });
  socket.on("status", applyStatus);
  socket.on("queue", function (q) {
    showQueue(q);
    // In the room this means the chat went back to the queue (a transfer to another role,
    // or the staff member was away too long); `assigned` brings the next person.
    if (view === "room" || (view === "start" && log.chat_id !== null)) { show("waiting"); }
  });
  socket.on("assigned", function (a) {
    setStaff(a.role_label, a.name);
    if (view !== "ended" && view !== "converted" && view !== "closed") { show("room"); }
  });
  socket.on("message", function (m) {
    receive(m, true);
    if (m.from === "staff" && view === "waiting" && log.staff) { show("room"); }
  });
  var typingTimer = null;
  socket.on("typing", function () {
    if (view !== "room") { return; }
    setText(el.typing, fill(d.sTyping, { name: log.staff || d.sStaff }));
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(function () { setText(el.typing, ""); }, TYPING_SHOWN_MS);
  });
  var converting = false;  // converting ends the chat too; that `ended` is not news
  socket.on("ended", function (e) {
    if (converting) { return; }
    if (view === "waiting" || view === "room" || view === "ended") { showEnded(e && e.by); }
  });

  // ---- the forms -----------------------------------------------------------------------
  el.startForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var category = el.category.value;
    var text = el.first.value.trim();
    setText(el.startError, "");
    el.category.removeAttribute("aria-invalid");
    el.first.removeAttribute("aria-invalid");
    if (!category) {
      el.category.setAttribute("aria-invalid", "true");
      setText(el.startError, d.sChooseTopic);
      el.category.focus();
      return;
    }
    if (!text) {
      el.first.setAttribute("aria-invalid", "true");
      setText(el.startError, d.sWriteFirst);
      el.first.focus();
      return;
    }
    if (!status.open) { showClosed(category, text); return; }
    if (pendingStart) { return; }
    dismiss();
    converted = null;
    save("converted", null);
    pendingStart = { client_id: newClientId(), category: category, text: text };
    save("start", pendingStart);
    sendStart();
  });

  function sendTyped() {
    var text = el.text.value.trim();
    setText(el.sendError, "");
    if (!text) { setText(el.sendError, d.sWriteFirst); return; }
    var item = { client_id: newClientId(), text: text };
    outbox.push(item);
    saveOutbox();
    showPending(item, socket.connected ? "sending" : "queued");
    el.text.value = "";
    el.text.focus();
    flush();
  }

  el.sendForm.addEventListener("submit", function (event) { event.preventDefault(); sendTyped(); });
  el.text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendTyped();
    }
  });
  var lastTyping = 0;
  el.text.addEventListener("input", function () {
    var now = Date.now();
    if (view === "room" && socket.connected && now - lastTyping >= TYPING_EVERY_MS) {
      lastTyping = now;
      socket.emit("typing", {});
    }
  });

  function endChat() {
    call("end", {}, function (ack) {
      if (ack === null || ack.error) { setText(el.sendError, errorText(ack)); return; }
      showEnded("visitor");
    });
  }
  el.end.addEventListener("click", endChat);
  el.leave.addEventListener("click", endChat);

  function showConverted(info) {
    setText(el.code, info.code);
    var url = /^\/f\/[\w-]+$/.test(info.url) ? info.url : "/f/" + encodeURIComponent(info.code);
    el.link.href = url;
    setText(el.link, url);
    show("converted");
  }

  el.convert.addEventListener("click", function () {
    setText(el.convertError, "");
    el.convert.disabled = true;
    converting = true;
    call("convert", {}, function (ack) {
      el.convert.disabled = false;
      converting = false;
      if (ack === null || ack.error) { setText(el.convertError, errorText(ack)); return; }
      converted = { chat_id: log.chat_id, code: ack.code, url: ack.url };
      save("converted", converted);
      outbox = [];
      saveOutbox();
      showConverted(converted);
      $("chat-converted-heading").focus();
    });
  });

  el.rateForm.addEventListener("submit", function (event) {
    event.preventDefault();
    setText(el.rateError, "");
    var score = el.rateForm.querySelector("input[name=score]:checked");
    var helped = el.rateForm.querySelector("input[name=helped]:checked");
    if (!score && !helped) { setText(el.rateError, d.sRateEmpty); return; }
    var payload = {
      score: score ? Number(score.value) : null,
      helped: helped ? helped.value === "yes" : null
    };
    call("rate", payload, function (ack) {
      if (ack === null || (ack.error && ack.error !== "conflict")) { setText(el.rateError, errorText(ack)); return; }
      log.rated = true;
      saveLog();
      el.rateForm.hidden = true;
      el.thanks.hidden = false;
      el.thanks.focus();
    });
  });

  el.newChat.addEventListener("click", function () {
    dismiss();
    el.first.value = "";
    el.rateForm.reset();
    show("start");
    el.category.focus();
  });

  // ---- start ---------------------------------------------------------------------------
  applyStatus(status);
  redraw();
  if (log.chat_id !== null || pendingStart) {
    // Until the server answers, show what this tab remembers.
    show(log.staff ? "room" : "waiting");
    if (pendingStart && !log.messages.length) { show("start"); el.category.value = pendingStart.category; el.first.value = pendingStart.text; }
  } else {
    show("start");
  }
  showConnection("connecting");
})();
