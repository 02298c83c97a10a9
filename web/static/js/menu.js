// The visitors' header menu, and the focus after a search.
//
// Without JavaScript the menu button is a link to #menu and CSS shows the menu as the
// :target. Here the link becomes a real button that says whether the menu is open
// (aria-expanded); Esc or a click outside closes it and focus returns to the button.
//
// A search form's action ends in #results: the browser scrolls the results heading into view
// by itself; here focus moves to it as well, so a screen reader reads the count at once.
(function () {
  "use strict";

  var header = document.getElementById("site-header");
  var link = document.getElementById("menu-toggle");
  var menu = document.getElementById("menu");

  function setUpMenu() {
    var button = document.createElement("button");
    button.type = "button";
    button.id = link.id;
    button.className = link.className;
    button.setAttribute("aria-controls", "menu");
    button.setAttribute("aria-expanded", "false");
    while (link.firstChild) { button.appendChild(link.firstChild); }
    link.parentNode.replaceChild(button, link);
    header.classList.add("menu-ready");

    function isOpen() { return button.getAttribute("aria-expanded") === "true"; }

    function setOpen(open, returnFocus) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      header.classList.toggle("menu-open", open);
      if (!open && returnFocus) { button.focus(); }
    }

    button.addEventListener("click", function () { setOpen(!isOpen(), false); });
    document.addEventListener("keydown", function (event) {
      if ((event.key === "Escape" || event.key === "Esc") && isOpen()) {
        setOpen(false, menu.contains(document.activeElement));
      }
    });
    document.addEventListener("click", function (event) {
      if (isOpen() && event.target instanceof Node && !header.contains(event.target)) {
        setOpen(false, false);
      }
    });
    // A page opened at #menu (the link without JavaScript) shows the menu open.
    if (window.location.hash === "#menu") { setOpen(true, false); }
  }

  function focusResults() {
    if (window.location.hash !== "#results") { return; }
    var heading = document.getElementById("results");
    if (heading) { heading.focus({ preventScroll: true }); }
  }

  if (header && link && menu) { setUpMenu(); }
  focusResults();
})();
