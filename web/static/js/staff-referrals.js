// The answer page's directory search without a reload (staff/question.html): the typed answer,
// its cursor and the ticked services stay as they are; the list of services to tick changes in
// place and the count is announced. Without JavaScript the Find button posts the whole draft
// to /staff/questions/{id}/find instead. Text from the directory goes in with textContent only.
(function () {
  "use strict";
  var form = document.getElementById("answer-form");
  var input = document.getElementById("find");
  var button = document.getElementById("find-services");
  var list = document.getElementById("referral-options");
  var status = document.getElementById("referral-status");
  if (!form || !input || !button || !list || !status || !window.fetch) { return; }
  var url = form.dataset.optionsUrl;
  var pending = null;

  function option(service) {
    var item = document.createElement("li");
    var label = document.createElement("label");
    var box = document.createElement("input");
    box.type = "checkbox";
    box.name = "services";
    box.value = service.service_id;
    var text = document.createElement("span");
    var name = document.createElement("strong");
    name.textContent = service.name;
    text.appendChild(name);
    if (service.summary) { text.appendChild(document.createTextNode(" – " + service.summary)); }
    label.appendChild(box);
    label.appendChild(document.createTextNode(" "));
    label.appendChild(text);
    item.appendChild(label);
    return item;
  }

  // Ticked services stay where they are (they go with the answer); the rest make way for
  // what was found.
  function show(services) {
    var ticked = {};
    Array.prototype.slice.call(list.children).forEach(function (item) {
      var box = item.querySelector("input[name=services]");
      if (box && box.checked) {
        ticked[box.value] = true;
      } else {
        list.removeChild(item);
      }
    });
    services.forEach(function (service) {
      if (!ticked[service.service_id]) { list.appendChild(option(service)); }
    });
    if (!list.children.length) {
      var empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = list.dataset.empty;
      list.appendChild(empty);
    }
  }

  function done(search) {
    if (pending === search) {
      pending = null;
      list.removeAttribute("aria-busy");
    }
  }

  function search() {
    if (pending && pending.abort) { pending.abort(); }
    var search = window.AbortController ? new AbortController() : {};
    pending = search;
    status.textContent = status.dataset.searching;
    list.setAttribute("aria-busy", "true");
    fetch(url + "?find=" + encodeURIComponent(input.value), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal: search.signal
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (data) {
      if (pending !== search) { return; }
      show(data.services || []);
      status.textContent = data.message;
      done(search);
    }).catch(function (error) {
      if (error && error.name === "AbortError") { return; }
      status.textContent = status.dataset.failed;
      done(search);
    });
  }

  button.addEventListener("click", function (event) {
    event.preventDefault();
    search();
  });
  // Enter in the search field searches here rather than posting the form.
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.isComposing) {
      event.preventDefault();
      search();
    }
  });
})();
