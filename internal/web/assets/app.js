// Hub dashboard: small progressive enhancements. Every page works without this file, except
// the live stream.
(function () {
  "use strict";

  // Words come from the page (the dashboard's catalogue, in the reader's language).
  var say = function (name, fallback) { return document.body.getAttribute("data-" + name) || fallback; };

  // Copy buttons: data-copy names the element whose text is copied.
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-copy]");
    if (!b) return;
    var el = document.getElementById(b.getAttribute("data-copy"));
    if (!el || !navigator.clipboard) return;
    navigator.clipboard.writeText(el.textContent.trim()).then(function () {
      var old = b.textContent;
      b.textContent = say("copied", "Copied");
      setTimeout(function () { b.textContent = old; }, 1500);
    }, function () {});
  });

  // Confirmations for destructive actions.
  document.addEventListener("submit", function (e) {
    var b = e.submitter || e.target.querySelector("[data-confirm]");
    var msg = b && b.getAttribute && b.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) e.preventDefault();
  });

  // Setup page: poll "is it working?" until both checks pass.
  var status = document.querySelector("[data-status-url]");
  if (status) {
    var url = status.getAttribute("data-status-url");
    var poll = function () {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) return;
          var sn = document.getElementById("snippet-status");
          var wh = document.getElementById("webhook-status");
          sn.querySelector(".text").textContent = s.snippet_text; sn.className = s.snippet_class;
          wh.querySelector(".text").textContent = s.webhook_text; wh.className = s.webhook_class;
          if (!(s.snippet_seen && s.webhook_ok)) setTimeout(poll, 3000);
        })
        .catch(function () { setTimeout(poll, 10000); });
    };
    setTimeout(poll, 3000);
  }

  // Live page: Server-Sent Events.
  var list = document.getElementById("live");
  if (list && window.EventSource) {
    var state = document.getElementById("live-state");
    var es = new EventSource(list.getAttribute("data-stream"));
    es.onopen = function () { state.textContent = say("waiting", "Connected. Waiting for events…"); };
    es.onerror = function () { state.textContent = say("reconnecting", "Reconnecting…"); };
    es.addEventListener("live", function (m) {
      var ev;
      try { ev = JSON.parse(m.data); } catch (err) { return; }
      var li = document.createElement("li");
      var t = document.createElement("span"); t.className = "when"; t.textContent = ev.time;
      var k = document.createElement("span"); k.className = "kind"; k.textContent = ev.label || ev.kind;
      var s = document.createElement("span"); s.textContent = ev.summary;
      li.appendChild(t); li.appendChild(k); li.appendChild(s);
      list.insertBefore(li, list.firstChild);
      while (list.children.length > 200) list.removeChild(list.lastChild);
      state.textContent = say("connected", "Connected.");
    });
  }
})();
