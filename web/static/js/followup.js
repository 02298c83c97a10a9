// The asker's page: copy buttons for the code and the link, and "remember my question on this
// device" (off until the asker turns it on; the code stays in this browser's localStorage and
// nowhere else). Without JavaScript the code and the link are plain text to select and copy.
(function () {
  "use strict";

  var STORE = "koppi.remembered";  // [{code, seen}]: seen = answers read on this page
  var MAX_KEPT = 10;

  // Copy ------------------------------------------------------------------------------

  var box = document.querySelector(".code-box");
  if (box) {
    var status = box.querySelector(".copy-status");

    var say = function (text) {
      // Cleared first, so the same word twice in a row is announced again.
      status.textContent = "";
      window.setTimeout(function () { status.textContent = text; }, 50);
    };

    var select = function (element) {
      var range = document.createRange();
      range.selectNodeContents(element);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    };

    // The old way, for browsers without the Clipboard API (or pages not on HTTPS): the text
    // selected and copied by command; if even that is refused, left selected for the person.
    var fallback = function (element) {
      select(element);
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
      say(copied ? box.dataset.copied : box.dataset.selected);
    };

    var buttons = box.querySelectorAll("button[data-copy]");
    Array.prototype.forEach.call(buttons, function (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) { return; }
      button.parentNode.hidden = false;
      button.addEventListener("click", function () {
        var text = source.textContent.trim();
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(function () {
            say(box.dataset.copied);
          }, function () { fallback(source); });
        } else {
          fallback(source);
        }
      });
    });
  }

  // Remember on this device ----------------------------------------------------------

  var panel = document.getElementById("remember");
  if (!panel) { return; }

  function load() {
    try {
      var kept = JSON.parse(window.localStorage.getItem(STORE) || "[]");
      return Array.isArray(kept) ? kept.filter(function (item) {
        return item && typeof item.code === "string";
      }) : [];
    } catch (e) {
      return [];
    }
  }

  function save(kept) {
    if (kept.length) {
      window.localStorage.setItem(STORE, JSON.stringify(kept.slice(-MAX_KEPT)));
    } else {
      window.localStorage.removeItem(STORE);  // nothing left: nothing stays behind
    }
  }

  var storageWorks = (function () {
    try {
      window.localStorage.setItem(STORE + ".test", "1");
      window.localStorage.removeItem(STORE + ".test");
      return true;
    } catch (e) {
      return false;
    }
  })();

  var code = panel.dataset.code;
  var answers = parseInt(panel.dataset.answers, 10) || 0;
  var state = panel.querySelector(".remember-state");
  var on = panel.querySelector(".remember-on");
  var off = panel.querySelector(".remember-off");
  panel.hidden = false;

  if (!storageWorks) {
    state.textContent = panel.dataset.unavailable;
    on.hidden = true;
    return;
  }

  function find(kept) {
    for (var i = 0; i < kept.length; i += 1) {
      if (kept[i].code === code) { return i; }
    }
    return -1;
  }

  function show(remembered, message) {
    on.hidden = remembered;
    off.hidden = !remembered;
    state.textContent = message || (remembered ? panel.dataset.on : panel.dataset.off);
  }

  // This page shows every answer so far: the board need not point here again until another.
  var kept = load();
  var at = find(kept);
  if (at >= 0 && kept[at].seen !== answers) {
    kept[at].seen = answers;
    save(kept);
  }
  show(at >= 0);

  on.addEventListener("click", function () {
    var now = load();
    if (find(now) < 0) { now.push({ code: code, seen: answers }); }
    save(now);
    show(true);
    off.focus();
  });

  off.addEventListener("click", function () {
    var now = load();
    var i = find(now);
    if (i >= 0) { now.splice(i, 1); }
    save(now);
    show(false, panel.dataset.forgotten);
    on.focus();
  });
})();
