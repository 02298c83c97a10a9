// Asking and the follow-up: after a refused form or a warning, the page opens with focus on
// the message (the error summary, the personal-data warning, crisis help), so it is in view
// and a screen reader reads it. `autofocus` is unreliable on a div, hence this script; the
// page can also arrive through quick-exit.js's document.write, which runs it the same way.
(function () {
  "use strict";

  function focusMessage() {
    var target = document.querySelector("[data-focus-on-load]");
    if (!target) { return; }
    target.focus({ preventScroll: true });
    // Its top at the top of the screen: the sticky header must not hide the first line.
    target.scrollIntoView({ block: "start" });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusMessage);
  } else {
    focusMessage();
  }
})();
