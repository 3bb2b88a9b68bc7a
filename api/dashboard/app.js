// tandem dashboard: fetch the panels of this node every 2 s; the API
// token (if the node needs one) lives in sessionStorage and goes in the
// Authorization header, never in a cookie. "per node" adds each LB
// node's figures under the cluster's sums.
(function () {
  "use strict";
  var KEY = "tandem-token", PER = "tandem-pernode", EVERY = 2000, timer = 0;
  var $ = function (id) { return document.getElementById(id); };
  $("token").value = sessionStorage.getItem(KEY) || "";
  $("pernode").checked = sessionStorage.getItem(PER) === "1";
  $("pernode").addEventListener("change", function () {
    sessionStorage.setItem(PER, $("pernode").checked ? "1" : "0");
    refresh();
  });
  $("tokenform").addEventListener("submit", function (ev) {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("token").value);
    refresh();
  });
  function headers(extra) {
    var h = extra || {}, t = sessionStorage.getItem(KEY);
    if (t) { h.Authorization = "Bearer " + t; }
    return h;
  }
  function problem(msg) {
    var e = $("err");
    e.textContent = msg;
    e.hidden = !msg;
  }
  function refresh() {
    clearTimeout(timer);
    var url = "/dashboard/panels" + ($("pernode").checked ? "?nodes=1" : "");
    fetch(url, { headers: headers(), cache: "no-store" }).then(function (r) {
      if (r.status === 401) { throw new Error("this node needs the API token: enter it above"); }
      if (!r.ok) { throw new Error("the node answered " + r.status); }
      return r.text();
    }).then(function (html) {
      $("panels").innerHTML = html;
      $("updated").textContent = "updated " + new Date().toLocaleTimeString();
      problem("");
    }).catch(function (e) {
      problem("Cannot update: " + e.message + " (showing the last data)");
    }).then(function () { timer = setTimeout(refresh, EVERY); });
  }
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest ? ev.target.closest("button[data-admin]") : null;
    if (!b) { return; }
    b.disabled = true;
    var url = "/api/v1/servers/" + encodeURIComponent(b.dataset.backend) + "/" + encodeURIComponent(b.dataset.server);
    fetch(url, {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ admin: b.dataset.admin })
    }).then(function (r) {
      if (r.ok) { problem(""); return; }
      return r.json().then(function (j) { problem(b.dataset.server + " → " + b.dataset.admin + ": " + (j.error || r.status)); },
        function () { problem(b.dataset.server + " → " + b.dataset.admin + ": " + r.status); });
    }).catch(function (e) { problem("Cannot reach the node: " + e.message); }).then(refresh);
  });
  refresh();
})();
