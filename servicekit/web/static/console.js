// zkcred consoles: the only script. Progressive: every page works without it.
// An element with data-live-events (a Server-Sent Events URL) and data-live-fragment (an HTML
// fragment URL of the same service) is re-rendered from the fragment at each `status` event;
// the stream is closed once the status is final. The fragment is rendered and escaped by the server.
"use strict";
document.querySelectorAll("[data-live-events]").forEach(function (el) {
  var source = new EventSource(el.dataset.liveEvents);
  source.addEventListener("status", function (event) {
    var status = JSON.parse(event.data).status;
    fetch(el.dataset.liveFragment, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) { el.innerHTML = html; el.setAttribute("data-status", status); })
      .catch(function () {});
    if (status !== "pending") { source.close(); }
  });
});
// A deep link field selects itself on focus, ready to copy.
document.querySelectorAll("input[readonly].mono").forEach(function (input) {
  input.addEventListener("focus", function () { input.select(); });
});
