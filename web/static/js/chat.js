// The visitor's live chat over the /chat socket.io namespace (docs/realtime.md), on top of
// chat-core.js (window.KoppiChat). Texts come from the page's data-* attributes; user and server
// text goes in with textContent. sessionStorage (this tab only, guarded) keeps the visitor token,
// the conversation seen so far with the last message id, and unsent messages, so a reload or a
// lost connection loses and repeats nothing. While waiting, chatting and after the end the
// page is a messenger (body.chat-live, chat.css): the conversation scrolls above the composer
// and keeps its newest message in view; crisis help goes into it after the message that
// needed it.
(function () {
  "use strict";
  var root = document.getElementById("chat");
  var K = window.KoppiChat;
  if (!root || !K || typeof io !== "function") { return; }
  var d = root.dataset;
  var KEY = "koppi.chat.";
  var TYPING_EVERY_MS = 2000;
  var TYPING_SHOWN_MS = 6000;
  var ACK_MS = 15000;
  var fill = K.fill;
  var setText = K.setText;

  function $(id) { return document.getElementById(id); }
  var el = {
    connection: $("chat-connection"), announce: $("chat-announce"),
    start: $("chat-start"), startForm: $("start-form"), category: $("chat-category"),
    first: $("chat-first"), startError: $("start-error"), startButton: $("start-button"),
    closedNotice: $("chat-closed-notice"), nextOpen: root.querySelectorAll(".next-open"),
    waiting: $("chat-waiting"), position: $("queue-position"), eta: $("queue-eta"),
    offer: $("offer"), convert: $("convert-button"), convertError: $("convert-error"),
    leave: $("leave-button"),
    converted: $("chat-converted"), code: $("followup-code"), link: $("followup-link"),
    room: $("chat-room"), withLine: $("chat-with"), staffName: $("staff-name"),
    messages: $("messages"), typing: $("typing"), sendForm: $("send-form"), text: $("chat-text"),
    sendError: $("send-error"), end: $("end-button"),
    ended: $("chat-ended"), endedReason: $("ended-reason"), rateForm: $("rate-form"),
    rateError: $("rate-error"), thanks: $("rate-thanks"), newChat: $("new-chat-button"),
    forget: $("forget-button"),
    closed: $("chat-closed"), askForm: $("ask-form"), askCategory: $("ask-category"),
    askBody: $("ask-body"),
    crisis: $("chat-crisis"), crisisHome: $("chat-crisis-home"), closedHint: $("chat-closed-hint"),
    roomBar: $("chat-room-bar"), startPersonal: $("start-personal"), sendPersonal: $("send-personal")
  };

  // ---- storage -------------------------------------------------------------------------
  function load(name, fallback) { return K.store.get(KEY + name, fallback); }
  function save(name, value) { K.store.set(KEY + name, value); }
  function emptyLog() {
    return { chat_id: null, last: 0, staff: null, assigned: false, rated: false, dismissed: null, messages: [] };
  }

  var token = K.store.getRaw(KEY + "token");        // read from here first; storage may fail
  var log = load("log", null) || emptyLog();        // the conversation seen so far
  var pendingStart = load("start", null);            // {client_id, category, text} until acked
  var converted = load("converted", null);           // {chat_id, code, url}
  // Crisis help was shown: it stays, after the message `after` (0: before them all), with the
  // payload's note. (An older tab stored `true`.)
  var crisis = load("crisis", null);
  if (crisis === true) { crisis = { after: 0, note: null }; }
  else if (!crisis || typeof crisis.after !== "number") { crisis = null; }
  var held = { start: null, send: null };            // what a personal-details warning is about
  var status = { open: d.open !== "no", next_open: d.nextOpen || null };

  function saveLog() { save("log", log); }
  function saveOutbox() { save("outbox", outbox.items.length ? outbox.items : null); }
  function moment(iso, withDay) { return K.moment(iso, d.lang, withDay); }
  function errorText(ack) { return K.errorText(ack, d.sError); }

  // ---- views ---------------------------------------------------------------------------
  var view = "start";
  var booting = true;     // no focus moves while the page first draws itself
  var lastQueue = null;   // the newest `queue` event since the chat was started
  var SECTIONS = ["start", "waiting", "converted", "room", "ended", "closed"];
  var LIVE = { waiting: true, room: true, ended: true };   // the messenger views
  var FOCUS = {
    start: "chat-start-heading", waiting: "chat-waiting-heading", converted: "chat-converted-heading",
    room: "chat-text", ended: "chat-ended-heading", closed: "chat-closed-heading"
  };

  function show(name) {
    var changed = view !== name;
    view = name;
    root.dataset.view = name;
    placeCrisis();   // before the sections show: a move inside a visible log is read out again
    SECTIONS.forEach(function (section) {
      var visible = section === name || (section === "room" && (name === "waiting" || name === "ended"));
      el[section].hidden = !visible;
    });
    document.body.classList.toggle("chat-live", !!LIVE[name]);
    el.sendForm.hidden = name === "ended";
    el.end.hidden = name !== "room";
    el.roomBar.hidden = name !== "room";
    showClosedNotice();
    if (LIVE[name] && atBottom) { scrollDown(); }   // the list's room changed with the view
    el.withLine.hidden = !log.staff || (name !== "room" && name !== "ended");
    if (name !== "room") { setText(el.typing, ""); }
    var active = document.activeElement;
    // Keep the keyboard where it was unless that control just disappeared.
    if (changed && !booting && (!active || active === document.body || active.offsetParent === null)) {
      var target = $(FOCUS[name]);
      if (target) { target.focus(); }
    }
  }

  function showConnection(state) { K.showConnection(el.connection, d, state); }

  // Bring a node the keyboard has just been moved to fully into view where it fits (its top
  // where it does not), in the conversation and on the page alike.
  function reveal(node) {
    var tall = node.getBoundingClientRect().height > window.innerHeight * 0.8;
    node.scrollIntoView({ block: tall ? "start" : "nearest" });
  }

  // ---- safety --------------------------------------------------------------------------
  // A crisis word: the help rendered (hidden) into the page appears at once, in the
  // conversation right after the message that had the words (`after`, a message id; the
  // newest shown when the message was not stored), announced (role=alert) and focused,
  // whatever the length of the chat. It stays, also over a reload. The payload's note says
  // when the words were in another language than the page's.
  function showCrisis(help, after) {
    var note = help && help.note ? String(help.note) : (crisis && crisis.note) || null;
    crisis = { after: typeof after === "number" ? after : newestId(), note: note };
    save("crisis", crisis);
    placeCrisis();
    var heading = el.crisis.querySelector("h2");
    if (heading) { heading.focus({ preventScroll: true }); }
    reveal(el.crisis);
  }

  function newestId() {
    return log.messages.reduce(function (most, m) { return Math.max(most, m.id); }, 0);
  }

  // In a conversation the help sits in the message list, ordered after its message (K.place
  // reads data-after); on the other views it shows above them, in its home.
  function placeCrisis() {
    var node = el.crisis;
    var note = node.querySelector("[data-part=crisis-note]");
    if (note && crisis && crisis.note) { setText(note, crisis.note); note.hidden = false; }
    node.hidden = !crisis;
    if (crisis && LIVE[view]) {
      node.dataset.after = String(crisis.after);
      K.place(el.messages, node, crisis.after + 0.5);
    } else if (node.parentNode !== el.crisisHome) {
      delete node.dataset.after;
      el.crisisHome.appendChild(node);
    }
  }

  // Personal details found: nothing was stored. The warning lists them and takes the
  // keyboard; "Send anyway" sends what the box holds now without asking again, "Edit" goes
  // back to the box.
  function askPersonal(kind, ack, item) {
    held[kind] = item;
    var box = kind === "start" ? el.startPersonal : el.sendPersonal;
    K.showFindings(box, d, ack.personal_data);
    (kind === "start" ? el.first : el.text).setAttribute("aria-invalid", "true");
    box.focus({ preventScroll: true });
    reveal(box);
  }

  // An error under a form: the control it names gets the keyboard, otherwise the message
  // itself does; either way the message is in view and read out (aria-live).
  function formError(node, message, ack, controls) {
    setText(node, message);
    if (K.markInvalid(ack, controls)) { node.scrollIntoView({ block: "nearest" }); }
    else { node.focus(); }
  }

  function hidePersonal(kind) {
    held[kind] = null;
    (kind === "start" ? el.startPersonal : el.sendPersonal).hidden = true;
  }

  function sendAnyway(kind) {
    var item = held[kind];
    if (!item) { return; }
    hidePersonal(kind);
    if (kind === "start") {
      var text = el.first.value.trim() || item.text;
      var category = el.category.value || item.category;
      var same = text === item.text && category === item.category;
      el.first.removeAttribute("aria-invalid");
      if (pendingStart) { return; }
      pendingStart = { client_id: same ? item.client_id : K.newClientId(), category: category, text: text, personal_ok: true };
      save("start", pendingStart);
      sendStart();
      return;
    }
    var now = el.text.value.trim() || item.text;
    el.text.value = "";
    el.text.removeAttribute("aria-invalid");
    el.text.focus();
    outbox.add(now, { client_id: now === item.text ? item.client_id : null, personal_ok: true });
  }

  // A message the server did not store (a warning or a refusal) goes back into the box.
  function unsend(item) {
    var li = byClient[item.client_id];
    if (li) { li.remove(); delete byClient[item.client_id]; }
    var typed = el.text.value.trim();
    if (typed !== item.text) { el.text.value = typed ? item.text + "\n" + el.text.value : item.text; }
  }

  // The closed notice (with what helps after hours) belongs to the start and the ask form.
  function showClosedNotice() {
    el.closedNotice.hidden = status.open || (view !== "start" && view !== "closed");
    el.closedHint.hidden = status.open;
  }

  function applyStatus(next) {
    status = { open: !!next.open, next_open: next.next_open || null };
    showClosedNotice();
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

  function setStaff(roleLabel, name, live) {
    var label = [roleLabel, name].filter(Boolean).join(" ");
    if (!label) { return; }
    var changed = log.staff !== label || !log.assigned;
    log.staff = label;
    log.assigned = true;
    saveLog();
    setText(el.staffName, label);
    // An always-present status region says who took the chat (the line above appears later).
    if (live && changed) { setText(el.announce, d.sChattingWith + " " + label); }
  }

  function showEnded(by) {
    var who = log.staff || d.sStaff;
    var reason = by === "staff" ? fill(d.sEndedStaff, { name: who })
      // Never taken and timed out: the young person was away past the queue's grace.
      : by === "timeout" ? (log.assigned ? d.sEndedTimeout : d.sLeftAway)
      : log.assigned ? d.sEndedVisitor : d.sLeftQueue;
    setText(el.endedReason, reason);
    el.rateForm.hidden = log.rated || !log.assigned;
    el.thanks.hidden = !log.rated;
    // Whatever could not be sent stays visible but will not go out any more.
    outbox.items.forEach(function (item) { markFailed(item.client_id, null); });
    outbox.items = [];
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

  // Staff messages carry their writer's first name, also in replays after a transfer; the
  // server's own lines (from "system", e.g. a transfer) have no sender and show centred.
  function senderLabel(m) {
    if (m.from === "visitor") { return { text: d.sYou }; }
    if (m.from === "staff") { return { text: m.name || d.sStaff }; }
    return null;
  }

  // The newest message stays in view: after each addition, and when the list's box changes
  // size (the keyboard, a warning or a longer message in the composer) while it was read at
  // the bottom. Someone who scrolled up to read stays where they are until they send.
  // When the screen is too small even for that (200 % text on a phone), the whole column
  // scrolls: while there is a composer it too stays at the bottom, where the composer is
  // (after the end, where the focus is: the heading of the rating).
  var atBottom = true;
  var column = root.closest("main") || document.body;
  function scrollDown() {
    el.messages.scrollTop = el.messages.scrollHeight;
    atBottom = true;
    if ((view === "room" || view === "waiting") && column.scrollHeight > column.clientHeight) {
      column.scrollTop = column.scrollHeight;
    }
  }
  el.messages.addEventListener("scroll", function () {
    var list = el.messages;
    atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
  });
  if (typeof window.ResizeObserver === "function") {
    new window.ResizeObserver(function () { if (atBottom) { scrollDown(); } }).observe(el.messages);
  }

  // A message from the server (live, replayed, or the acknowledgement of one's own).
  function receive(m, live) {
    if (typeof m.id !== "number" || byId[m.id]) { return; }
    // The resume cursor moves only with what arrives after a resume's acknowledgement (and
    // with the acknowledgement's last_id): a message shown earlier may have overtaken the
    // replay, and resuming after it would skip what it overtook (docs/realtime.md).
    if (live && resumed && m.id > log.last) { log.last = m.id; }
    var li = m.client_id ? byClient[m.client_id] : null;
    if (li) { delete byClient[m.client_id]; }   // updated in place: announced once
    else { li = K.messageNode(m, senderLabel(m), false); }
    li.dataset.id = String(m.id);
    K.setMeta(li, d, "sent", m.at);
    byId[m.id] = li;
    K.place(el.messages, li, m.id);
    log.messages.push({ id: m.id, from: m.from, text: m.text, at: m.at, name: m.from === "staff" ? m.name : undefined, referral: m.referral || undefined, kind: m.kind || undefined });
    saveLog();
    if (m.from === "staff") { setText(el.typing, ""); }
    scrollDown();
  }

  function showPending(item, state) {
    var li = byClient[item.client_id];
    if (!li) {
      li = K.messageNode({ from: "visitor", text: item.text }, senderLabel({ from: "visitor" }), false);
      byClient[item.client_id] = li;
      el.messages.appendChild(li);
    }
    K.setMeta(li, d, state);
    scrollDown();
  }

  function markFailed(clientId, note) {
    var li = byClient[clientId];
    if (li) { K.setMeta(li, d, "failed", null, note); delete byClient[clientId]; }
  }

  function redraw() {
    K.clear(el.messages);
    byId = {};
    byClient = {};
    log.messages.sort(function (a, b) { return a.id - b.id; });
    log.messages.forEach(function (m) {
      var li = K.messageNode(m, senderLabel(m), false);
      li.dataset.id = String(m.id);
      K.setMeta(li, d, "sent", m.at);
      byId[m.id] = li;
      el.messages.appendChild(li);
    });
    outbox.items.forEach(function (item) { showPending(item, "queued"); });
    setText(el.staffName, log.staff || "");
    placeCrisis();   // the list was emptied: the help goes back to its place
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
    outbox.items = [];
    saveLog();
    saveOutbox();
    redraw();
  }

  // ---- the socket ----------------------------------------------------------------------
  var socket = io("/chat", {
    auth: function (cb) { cb({ token: token }); },
    transports: ["websocket", "polling"]
  });
  var ready = false;      // the view has been restored since the last connect
  var calls = K.caller(socket, ACK_MS);
  var call = calls.call;

  var outbox = K.outbox({
    items: load("outbox", []),
    ready: function () { return ready && socket.connected; },
    send: function (item, done) {
      var payload = { text: item.text, client_id: item.client_id };
      if (item.personal_ok === true) { payload.personal_ok = true; }
      call("send", payload, done);
    },
    pending: showPending,
    saved: saveOutbox,
    limited: function (ack) { setText(el.sendError, errorText(ack)); },
    failed: function (item, ack) {
      if (ack.error === "personal_data" || ack.error === "refused_words") {
        unsend(item);
        if (ack.error === "personal_data") { askPersonal("send", ack, item); }
        else { setText(el.sendError, errorText(ack)); K.markInvalid(ack, { text: el.text }); }
        if (ack.crisis_help) { showCrisis(ack.crisis_help, null); }
        return;
      }
      markFailed(item.client_id, errorText(ack));
      setText(el.sendError, errorText(ack));
      K.markInvalid(ack, { text: el.text });
    },
    sent: function (item, ack) {
      if (Date.now() >= outbox.holdUntil) { setText(el.sendError, ""); }
      if (typeof ack.id === "number") {
        receive({ id: ack.id, from: "visitor", text: item.text, at: K.nowIso(), client_id: item.client_id }, false);
      }
      if (ack.crisis_help) { showCrisis(ack.crisis_help, typeof ack.id === "number" ? ack.id : null); }
    }
  });
  var flush = outbox.flush;

  function startError(ack) {
    var message = errorText(ack);
    if (ack.error === "blocked" && ack.until) { message += " " + fill(d.sBlockedUntil, { when: moment(ack.until, true) }); }
    formError(el.startError, message, ack, { category: el.category, text: el.first });
  }

  function sendStart() {
    if (!pendingStart || !ready || !socket.connected) { return; }
    var start = pendingStart;
    lastQueue = null;
    el.startButton.disabled = true;
    var payload = { category: start.category, text: start.text, client_id: start.client_id };
    if (start.personal_ok === true) { payload.personal_ok = true; }
    call("start", payload, function (ack) {
      el.startButton.disabled = false;
      if (ack === null) { window.setTimeout(sendStart, 2000); return; }
      pendingStart = null;
      save("start", null);
      // Not started: crisis help shows above the form (and after the error or warning,
      // so that it is what has the keyboard).
      var help = ack.crisis_help;
      if (ack.error === "personal_data") {
        if (view === "start") { askPersonal("start", ack, start); }
        if (help) { showCrisis(help, null); }
        return;
      }
      if (ack.error === "closed") {
        applyStatus({ open: false, next_open: status.next_open });
        showClosed(start.category, start.text);
        if (help) { showCrisis(help, null); }
        return;
      }
      if (ack.error) {
        if (view === "start") { startError(ack); }
        if (help) { showCrisis(help, null); }
        return;
      }
      log.chat_id = ack.chat_id;
      receive({ id: ack.message_id, from: "visitor", text: start.text, at: K.nowIso(), client_id: start.client_id }, false);
      if (view === "start") {
        if (ack.position === 0) { show("room"); }
        else {
          if (!lastQueue) { showQueue({ position: ack.position, eta_s: ack.eta_s, offer_question: false }); }
          show("waiting");
        }
      }
      if (help) { showCrisis(help, ack.message_id); }
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
      setStaff(state.role_label, state.name, !booting && view !== "room");
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

  var resumed = false;  // this connection has had its resume acknowledged
  function resume() {
    resumed = false;
    call("resume", { after: log.last }, function (ack) {
      if (ack === null) { if (socket.connected) { window.setTimeout(resume, 2000); } return; }
      var state = ack.chat || null;
      var sameChat = !(state && log.chat_id !== null && state.chat_id !== log.chat_id);
      if (typeof ack.last_id === "number" && ack.last_id > log.last && sameChat) {
        log.last = ack.last_id;
      }
      // A long transcript comes a page at a time: ask for the next before showing the state.
      if (ack.more && sameChat) { resume(); return; }
      resumed = true;
      if (state && log.chat_id !== null && state.chat_id !== log.chat_id && !pendingStart) {
        // This tab remembered another chat: start over from the whole transcript.
        resetChat();
        resume();
        return;
      }
      if (!pendingStart || (state && state.status !== "ended")) { applyState(state); }
      booting = false;
      ready = true;
      sendStart();
      flush();
    });
  }

  var converting = false;  // converting ends the chat too; that `ended` is not news
  // The service lost messages on their way between its processes for a while: read again
  // what came after the last one shown (duplicates are dropped by id).
  socket.on("resync", function () { if (resumed) { resume(); } });
  socket.on("connect", function () {
    showConnection("connected");
    ready = false;
    resume();
  });
  socket.on("disconnect", function () {
    calls.reset();
    ready = false;
    resumed = false;
    el.startButton.disabled = false;
    el.convert.disabled = false;
    converting = false;
    showConnection("reconnecting");
    outbox.disconnected();
  });
  socket.on("connect_error", function () { showConnection("reconnecting"); });
  socket.on("session", function (payload) {
    if (payload && payload.token) {
      token = payload.token;
      K.store.setRaw(KEY + "token", token);
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
    setStaff(a.role_label, a.name, true);
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
  socket.on("ended", function (e) {
    if (converting) { return; }
    if (view === "waiting" || view === "room" || view === "ended") { showEnded(e && e.by); }
  });

  // ---- the forms -----------------------------------------------------------------------
  function startChat(event) {
    event.preventDefault();
    var category = el.category.value;
    var text = el.first.value.trim();
    setText(el.startError, "");
    hidePersonal("start");
    K.clearInvalid({ category: el.category, text: el.first });
    if (!category) {
      formError(el.startError, d.sChooseTopic, { field: "category" }, { category: el.category });
      return;
    }
    if (!text) {
      formError(el.startError, d.sWriteFirst, { field: "text" }, { text: el.first });
      return;
    }
    if (!status.open) { showClosed(category, text); return; }
    if (pendingStart) { return; }
    dismiss();
    converted = null;
    save("converted", null);
    pendingStart = { client_id: K.newClientId(), category: category, text: text };
    save("start", pendingStart);
    sendStart();
  }
  el.startForm.addEventListener("submit", startChat);

  function sendTyped() {
    var text = el.text.value.trim();
    hidePersonal("send");
    if (Date.now() >= outbox.holdUntil) { setText(el.sendError, ""); }
    el.text.removeAttribute("aria-invalid");
    if (!text) { setText(el.sendError, d.sWriteFirst); el.text.setAttribute("aria-invalid", "true"); return; }
    el.text.value = "";
    el.text.focus();
    outbox.add(text);
  }
  K.wireCompose(el.sendForm, el.text, sendTyped, function () {
    if (view !== "room" || !socket.connected) { return false; }
    socket.emit("typing", {});
    return true;
  }, TYPING_EVERY_MS);

  function endChat() {
    call("end", {}, function (ack) {
      if (ack === null || ack.error) { setText(el.sendError, errorText(ack)); return; }
      showEnded("visitor");
    });
  }
  ["start", "send"].forEach(function (kind) {
    var box = kind === "start" ? el.startPersonal : el.sendPersonal;
    box.querySelector("[data-part=send-anyway]").addEventListener("click", function () { sendAnyway(kind); });
    box.querySelector("[data-part=edit]").addEventListener("click", function () {
      (kind === "start" ? el.first : el.text).focus();
    });
  });

  el.end.addEventListener("click", endChat);
  el.leave.addEventListener("click", endChat);

  function showConverted(info) {
    setText(el.code, info.code);
    var url = /^\/f\/[\w-]+$/.test(info.url) ? info.url : "/f/" + encodeURIComponent(info.code);
    el.link.href = url;
    // The full address: a young person copies or writes down the link, not a path.
    setText(el.link, window.location.origin + url);
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
      outbox.items = [];
      saveOutbox();
      showConverted(converted);
      $("chat-converted-heading").focus();
    });
  });

  function rate(event) {
    event.preventDefault();
    setText(el.rateError, "");
    var first = {
      score: el.rateForm.querySelector("input[name=score]"),
      helped: el.rateForm.querySelector("input[name=helped]")
    };
    K.clearInvalid(first);
    var score = el.rateForm.querySelector("input[name=score]:checked");
    var helped = el.rateForm.querySelector("input[name=helped]:checked");
    if (!score && !helped) { setText(el.rateError, d.sRateEmpty); first.score.focus(); return; }
    var payload = { score: score ? Number(score.value) : null, helped: helped ? helped.value === "yes" : null };
    call("rate", payload, function (ack) {
      if (ack === null || (ack.error && ack.error !== "conflict")) {
        setText(el.rateError, errorText(ack));
        K.markInvalid(ack, first);
        return;
      }
      log.rated = true;
      saveLog();
      el.rateForm.hidden = true;
      el.thanks.hidden = false;
      el.thanks.focus();
    });
  }
  el.rateForm.addEventListener("submit", rate);

  el.newChat.addEventListener("click", function () {
    dismiss();
    el.first.value = "";
    el.rateForm.reset();
    show("start");
    el.category.focus();
  });

  // Forget this chat: this tab's stored chat data and token go, and a fresh connection gets a
  // new token, so nothing here can bring the conversation back.
  el.forget.addEventListener("click", function () {
    ["log", "outbox", "start", "converted", "crisis"].forEach(function (name) { save(name, null); });
    crisis = null;
    hidePersonal("start");
    hidePersonal("send");
    K.store.setRaw(KEY + "token", null);
    token = null;
    converted = null;
    pendingStart = null;
    resetChat();
    el.first.value = "";
    el.rateForm.reset();
    show("start");
    $("chat-start-heading").focus();
    socket.disconnect();
    socket.connect();
  });

  // ---- start ---------------------------------------------------------------------------
  el.connection.hidden = false;
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
