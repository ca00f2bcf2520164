// The full-dossier screen refreshes its status while a bundle is generated or a dossier
// deleted, an employee's export page while an export is made, and a datastream configuration's
// page while a delivery runs: it asks the same page for its status fragment (the HX-Request
// header) and swaps it in, until nothing is under way. Without JavaScript the page works the
// same with a reload.
(function () {
  "use strict";

  var interval = 2000;

  // The status element: the one with data-poll (#fulldossier-status, #export-status or
  // #config-runs).
  var statusID = (document.querySelector("[data-poll]") || {}).id;

  function current() {
    return statusID ? document.getElementById(statusID) : null;
  }

  function showReloadHints(el, show) {
    el.querySelectorAll(".reload-hint").forEach(function (hint) {
      hint.hidden = !show;
    });
  }

  function schedule() {
    var el = current();
    if (!el) {
      return;
    }
    showReloadHints(el, false);
    if (el.dataset.poll === "true") {
      window.setTimeout(poll, interval);
    }
  }

  // giveUp leaves the page as it is and points at a reload, e.g. after the session ended.
  function giveUp() {
    var el = current();
    if (el) {
      showReloadHints(el, true);
    }
  }

  function poll() {
    fetch(window.location.pathname, {
      headers: { "HX-Request": "true" },
      credentials: "same-origin",
      cache: "no-store",
      redirect: "error"
    })
      .then(function (resp) {
        if (!resp.ok) {
          throw new Error("status " + resp.status);
        }
        return resp.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(statusID);
        var el = current();
        if (!fresh || !el) {
          giveUp();
          return;
        }
        el.replaceWith(document.importNode(fresh, true));
        schedule();
      })
      .catch(giveUp);
  }

  schedule();
})();
