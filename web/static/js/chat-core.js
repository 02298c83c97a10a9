// Helpers shared by the visitor's chat (chat.js) and the staff desk (staff-chat.js):
// text filling, clocks, guarded sessionStorage, acknowledged calls, message items and the
// outbox that sends unsent messages in order. Text always goes in with textContent.
(function () {
  "use strict";
  var K = {};

  K.fill = function (template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  };

  K.setText = function (node, text) { if (node.textContent !== text) { node.textContent = text; } };

  K.clear = function (node) { while (node.firstChild) { node.removeChild(node.firstChild); } };

  K.newClientId = function () {
    if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  };

  K.nowIso = function () { return new Date().toISOString().replace(/\.\d+Z$/, "Z"); };

  // The time of day, or with withDay the weekday and date too (in Helsinki time).
  K.moment = function (iso, lang, withDay) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) { return ""; }
    var options = withDay
      ? { weekday: "long", day: "numeric", month: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "Europe/Helsinki" }
      : { hour: "2-digit", minute: "2-digit" };
    try { return when.toLocaleString(lang || undefined, options); } catch (e) { return when.toLocaleString(); }
  };

  // sessionStorage that may be missing or refuse (SecurityError, quota): a map keeps the values
  // for the life of the page instead.
  var memory = {};
  function getRaw(key) {
    try {
      var raw = window.sessionStorage.getItem(key);
      if (raw !== null) { return raw; }
    } catch (e) { /* fall back to this page's copy */ }
    return Object.prototype.hasOwnProperty.call(memory, key) ? memory[key] : null;
  }
  function setRaw(key, raw) {
    if (raw === null || raw === undefined) { delete memory[key]; } else { memory[key] = raw; }
    try {
      if (raw === null || raw === undefined) { window.sessionStorage.removeItem(key); }
      else { window.sessionStorage.setItem(key, raw); }
    } catch (e) { /* private mode, blocked or full: the page works, only a reload forgets */ }
  }
  K.store = {
    getRaw: getRaw,
    setRaw: setRaw,
    get: function (key, fallback) {
      var raw = getRaw(key);
      if (raw === null) { return fallback; }
      try { return JSON.parse(raw); } catch (e) { return fallback; }
    },
    set: function (key, value) { setRaw(key, value === null || value === undefined ? null : JSON.stringify(value)); }
  };

  // The connection line: connecting, connected, reconnecting, or ended (signed out) with a link.
  K.showConnection = function (node, d, state) {
    node.dataset.state = state;
    if (state === "ended") {
      K.clear(node);
      node.appendChild(document.createTextNode(d.sSessionEnded + " "));
      var link = document.createElement("a");
      link.href = d.loginUrl;
      link.textContent = d.sSignIn;
      node.appendChild(link);
      return;
    }
    K.setText(node, state === "connected" ? d.sConnected : state === "reconnecting" ? d.sReconnecting : d.sConnecting);
  };

  K.errorText = function (ack, fallback) { return (ack && ack.message) || fallback; };

  // Acknowledged emits; answers that belong to an earlier connection are dropped.
  K.caller = function (socket, ackMs) {
    var attempt = 0;
    return {
      call: function (event, payload, done) {
        var mine = attempt;
        socket.timeout(ackMs).emit(event, payload, function (err, ack) {
          if (mine !== attempt) { return; }
          done(err ? null : (ack || {}));
        });
      },
      reset: function () { attempt += 1; }
    };
  };

  // Mark the control an error ack names (`field`) as invalid and give it the keyboard.
  K.markInvalid = function (ack, controls) {
    var control = ack && ack.field ? controls[ack.field] : null;
    if (!control) { return false; }
    control.setAttribute("aria-invalid", "true");
    control.focus();
    return true;
  };
  K.clearInvalid = function (controls) {
    Object.keys(controls).forEach(function (name) {
      if (controls[name]) { controls[name].removeAttribute("aria-invalid"); }
    });
  };

  // ---- message items ------------------------------------------------------------------
  // label: {text, context?}; context is read by screen readers only (which chat this is).
  // A <div>, not an <li>: the log role replaces the list's semantics, so list items would
  // have no list around them.
  K.messageNode = function (m, label, own) {
    var item = document.createElement("div");
    var kind = m.from === "visitor" || m.from === "staff" ? m.from : "system";
    item.className = "msg msg-" + kind + (own ? " msg-own" : "");
    if (label && label.text) {
      var who = document.createElement("span");
      who.className = "msg-from";
      who.textContent = label.text;
      if (label.context) {
        var context = document.createElement("span");
        context.className = "visually-hidden";
        context.textContent = " · " + label.context;
        who.appendChild(context);
      }
      item.appendChild(who);
    }
    var text = document.createElement("p");
    text.className = "msg-text";
    text.textContent = m.text;
    if (m.referral && typeof m.referral === "object") {
      text.className = "msg-text visually-hidden";   // the card below shows the name
      item.appendChild(text);
      item.appendChild(K.referralCard(m.referral));
    } else {
      item.appendChild(text);
    }
    var meta = document.createElement("span");
    meta.className = "msg-meta";
    meta.setAttribute("aria-hidden", "true");   // time and "Sending…" are not news in the log
    item.appendChild(meta);
    return item;
  };

  // A referral card (a directory service) in a chat message, like _referral_card.html.
  var REFERRAL_WORDS = {
    fi: { open: "Auki nyt", closed: "Suljettu nyt", opens: "Suljettu nyt, aukeaa {when}",
      temp: "Tilapäisesti suljettu", phone: "Puhelin", web: "Verkkosivu" },
    sv: { open: "Öppet nu", closed: "Stängt nu", opens: "Stängt nu, öppnar {when}",
      temp: "Tillfälligt stängt", phone: "Telefon", web: "Webbplats" },
    en: { open: "Open now", closed: "Closed now", opens: "Closed now, opens {when}",
      temp: "Temporarily closed", phone: "Phone", web: "Website" }
  };
  function safeHref(url) {
    var value = String(url || "");
    return /^(https?:\/\/|\/(?!\/))/i.test(value) ? value : null;
  }
  K.referralCard = function (r) {
    var lang = REFERRAL_WORDS[document.documentElement.lang] ? document.documentElement.lang : "fi";
    var w = REFERRAL_WORDS[lang];
    var card = document.createElement("article");
    card.className = "referral-card";
    if (r.service_id) { card.dataset.serviceId = String(r.service_id); }
    var heading = document.createElement("h4");
    var link = safeHref(r.link);
    var name = link ? document.createElement("a") : document.createElement("span");
    if (link) { name.href = link; }
    name.textContent = String(r.name || "");
    heading.appendChild(name);
    card.appendChild(heading);
    if (r.summary) {
      var summary = document.createElement("p");
      summary.textContent = String(r.summary);
      card.appendChild(summary);
    }
    var facts = document.createElement("ul");
    facts.className = "facts";
    function fact(className) {
      var li = document.createElement("li");
      if (className) { li.className = className; }
      facts.appendChild(li);
      return li;
    }
    if (r.status === "temporarily closed") { fact("closed").textContent = w.temp; }
    else if (r.open_now === true) { fact("open").textContent = w.open; }
    else if (r.next_open) { fact("closed").textContent = K.fill(w.opens, { when: K.moment(r.next_open, lang, true) }); }
    else if (r.open_now === false) { fact("closed").textContent = w.closed; }
    if (r.phone) {
      var phone = fact("");
      phone.appendChild(document.createTextNode(w.phone + " "));
      var tel = document.createElement("a");
      tel.href = "tel:" + String(r.phone).replace(/[^0-9+]/g, "");
      tel.textContent = String(r.phone);
      phone.appendChild(tel);
    }
    var site = safeHref(r.url);
    if (site) {
      var web = document.createElement("a");
      web.href = site;
      web.rel = "noopener noreferrer external";
      web.textContent = w.web;
      fact("").appendChild(web);
    }
    if (facts.firstChild) { card.appendChild(facts); }
    return card;
  };

  K.setMeta = function (li, d, state, at, note) {
    li.dataset.state = state;
    var meta = li.querySelector(".msg-meta");
    if (state === "failed") { meta.removeAttribute("aria-hidden"); }
    K.setText(meta, state === "sent" ? K.moment(at, d.lang, false)
      : state === "sending" ? d.sSending
      : state === "queued" ? d.sQueued
      : d.sFailed + (note ? " " + note : ""));
  };

  // Where an item sorts: a message by its id; an item placed after a message (data-after, such
  // as the visitor's crisis help) just after that id; an unsent message last.
  function order(node) {
    if (node.dataset.id) { return Number(node.dataset.id); }
    if (node.dataset.after) { return Number(node.dataset.after) + 0.5; }
    return Infinity;
  }
  K.order = order;

  // Keep id order, unsent messages last; an item already in order is not moved (a move
  // would make the log announce it again).
  K.place = function (list, li, id) {
    var items = list.children;
    var before = null;
    for (var i = 0; i < items.length; i += 1) {
      if (items[i] === li) { continue; }
      if (order(items[i]) > id) { before = items[i]; break; }
    }
    if (li.parentNode === list) {
      var prev = li.previousElementSibling;
      var next = li.nextElementSibling;
      var prevOk = !prev || order(prev) < id;
      var nextOk = !next || order(next) > id;
      if (prevOk && nextOk) { return; }
    }
    if (before) { list.insertBefore(li, before); } else { list.appendChild(li); }
  };

  // ---- the outbox ---------------------------------------------------------------------
  // box: {items: [{client_id, text, personal_ok?}], flushing, holdUntil, timer} plus hooks:
  //   ready() -> bool, send(item, done), pending(item, state), sent(item, ack), failed(item, ack),
  //   limited(ack), saved()
  K.outbox = function (hooks) {
    var box = { items: hooks.items || [], flushing: false, holdUntil: 0, timer: null };
    function later(ms) {
      window.clearTimeout(box.timer);
      box.timer = window.setTimeout(flush, ms);
    }
    function flush() {
      if (box.flushing || !box.items.length || !hooks.ready()) { return; }
      var wait = box.holdUntil - Date.now();
      if (wait > 0) { later(wait); return; }
      var item = box.items[0];
      box.flushing = true;
      hooks.pending(item, "sending");
      hooks.send(item, function (ack) {
        box.flushing = false;
        if (ack === null) { hooks.pending(item, "queued"); later(2000); return; }
        if (ack.error === "rate_limited") {
          box.holdUntil = Date.now() + 1000 * (Number(ack.retry_after) || 5);
          hooks.pending(item, "queued");
          if (hooks.limited) { hooks.limited(ack); }
          later(box.holdUntil - Date.now());
          return;
        }
        box.items = box.items.filter(function (other) { return other.client_id !== item.client_id; });
        if (hooks.saved) { hooks.saved(); }
        if (ack.error) { hooks.failed(item, ack); } else { hooks.sent(item, ack); }
        flush();
      });
    }
    box.flush = flush;
    // extra: {client_id, personal_ok} to send again a message the server asked about.
    box.add = function (text, extra) {
      var item = { client_id: (extra && extra.client_id) || K.newClientId(), text: text };
      if (extra && extra.personal_ok === true) { item.personal_ok = true; }
      box.items.push(item);
      if (hooks.saved) { hooks.saved(); }
      hooks.pending(item, hooks.ready() && Date.now() >= box.holdUntil ? "sending" : "queued");
      flush();
      return item;
    };
    box.disconnected = function () {
      box.flushing = false;
      box.items.forEach(function (item) { hooks.pending(item, "queued"); });
    };
    return box;
  };

  // The warning about personal details found in a message (a `personal_data` ack): each
  // finding as "This looks like a phone number: <mark>040 …</mark>", built with textContent.
  K.showFindings = function (box, d, found) {
    var list = box.querySelector("[data-part=found]");
    K.clear(list);
    (found || []).forEach(function (f) {
      var li = document.createElement("li");
      li.appendChild(document.createTextNode(K.fill(d.sLooksLike, { what: String(f.label || f.kind || "") }) + " "));
      var mark = document.createElement("mark");
      mark.textContent = String(f.text || "");
      li.appendChild(mark);
      list.appendChild(li);
    });
    box.hidden = false;
  };

  // Enter sends, Shift+Enter makes a new line; typing notices at most every `every` ms.
  K.wireCompose = function (form, text, send, typing, every) {
    var last = 0;
    form.addEventListener("submit", function (event) { event.preventDefault(); send(); });
    text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); send(); }
    });
    text.addEventListener("input", function () {
      text.removeAttribute("aria-invalid");
      var now = Date.now();
      if (now - last >= every && typing()) { last = now; }
    });
  };

  window.KoppiChat = K;
})();
