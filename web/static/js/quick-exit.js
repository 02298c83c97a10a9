// Quick exit on public pages: the button, or Esc pressed twice within 1.5 s (also inside a
// form field), clears this tab's sessionStorage and replaces the page with a neutral site.
//
// location.replace only swaps the CURRENT history entry; a browser lets no page remove the
// entries before it. So public pages also move around Koppi by replacing: same-site links,
// GET forms (search, code lookup) and POST forms (ask, delete) all swap the current entry
// instead of adding one. The tab therefore holds at most one Koppi entry, and the exit
// replaces exactly that one: Back then leads to the page before Koppi, never to Koppi.
// The price is that Back inside Koppi leaves Koppi; for this service that is the safer way.
(function () {
  "use strict";

  var button = document.getElementById("quick-exit");
  if (!button) { return; }
  var ESCAPE_WINDOW_MS = 1500;
  var lastEscape = 0;

  function leave() {
    try { window.sessionStorage.clear(); } catch (e) { /* storage disabled: nothing kept */ }
    window.location.replace(button.href);
  }

  button.addEventListener("click", function (event) {
    event.preventDefault();
    leave();
  });

  // Capture phase, so a field or a dialog that handles Esc itself cannot swallow it.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") { return; }
    if (event.repeat) { return; }
    var now = Date.now();
    if (now - lastEscape <= ESCAPE_WINDOW_MS) {
      lastEscape = 0;
      leave();
      return;
    }
    lastEscape = now;
  }, true);

  function sameSite(url) {
    return url.origin === window.location.origin && /^https?:$/.test(url.protocol);
  }

  // Links inside Koppi replace the current entry. A modified click (new tab or window), a
  // download, another target or a jump within the same page keeps the browser's own way.
  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0) { return; }
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) { return; }
    var link = event.target instanceof Element ? event.target.closest("a[href]") : null;
    if (!link || link === button || link.hasAttribute("download")) { return; }
    if (link.target && link.target !== "_self") { return; }
    var url = new URL(link.href, window.location.href);
    if (!sameSite(url)) { return; }
    var here = new URL(window.location.href);
    if (url.hash && url.pathname === here.pathname && url.search === here.search) { return; }
    event.preventDefault();
    window.location.replace(url.href);
  });

  // The pressed button's name and value ("Send anyway") go with the form, as a browser sends
  // them; added by hand because older browsers ignore FormData's submitter argument.
  function formData(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    return data;
  }

  function encoded(data) {
    var params = new URLSearchParams();
    data.forEach(function (value, name) {
      if (typeof value === "string") { params.append(name, value); }
    });
    return params;
  }

  // A POST answer that is a page of its own (not a redirect) takes this tab's document in
  // place, so no entry is added; scripts in it run as on any page load.
  function show(response) {
    return response.text().then(function (page) {
      document.open();
      document.write(page);
      document.close();
    });
  }

  // Forms inside Koppi: GET forms become a replaced address; POST forms are sent with fetch
  // and their result replaces the page. Forms that scripts handle (the chat) are left alone.
  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) { return; }
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) { return; }
    if (form.target && form.target !== "_self") { return; }
    var submitter = event.submitter || null;
    var action = new URL(
      (submitter && submitter.getAttribute("formaction")) || form.getAttribute("action") || "",
      window.location.href
    );
    if (!sameSite(action)) { return; }
    var method = ((submitter && submitter.getAttribute("formmethod")) || form.method || "get").toLowerCase();
    var data = formData(form, submitter);
    if (method === "get") {
      event.preventDefault();
      action.search = encoded(data).toString();
      window.location.replace(action.href);
      return;
    }
    if (method !== "post" || form.enctype === "multipart/form-data") { return; }
    event.preventDefault();
    if (form.dataset.sending === "yes") { return; }
    form.dataset.sending = "yes";
    fetch(action.href, {
      method: "POST",
      body: encoded(data),
      credentials: "same-origin",
      redirect: "follow",
    }).then(function (response) {
      if (response.redirected && sameSite(new URL(response.url))) {
        window.location.replace(response.url);
        return null;
      }
      return show(response);
    }).catch(function () {
      // The network failed: let the browser send the form itself and show its own error.
      delete form.dataset.sending;
      if (submitter && submitter.name) {
        var pressed = document.createElement("input");
        pressed.type = "hidden";
        pressed.name = submitter.name;
        pressed.value = submitter.value;
        form.appendChild(pressed);
      }
      form.submit();
    });
  });
})();
