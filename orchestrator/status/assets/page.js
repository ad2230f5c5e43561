
(function () {
  "use strict";
  var POLL = __POLL__;
  var state = { view: null, fetchedAt: Date.now(), renders: 0, failures: 0 };
  window.__pipeline = state;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function ageText(seconds) {
    var units = [["d", 86400], ["h", 3600], ["m", 60]];
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][1]) { return Math.floor(seconds / units[i][1]) + units[i][0]; }
    }
    return Math.max(0, Math.floor(seconds)) + "s";
  }
  function age(base) {
    var node = el("span", "age", "");
    node.dataset.base = String(base);
    node.textContent = ageText(base) + " ago";
    return node;
  }
  function cardId(env, revision) { return env + "-" + revision; }
  function candidateId(ref) { return branch(ref); }
  function branch(ref) { return ref.replace(/^refs\/heads\//, ""); }
  function link(href, text, target) {
    var a = el("a", null, text);
    a.href = "#" + href;
    if (target) { a.dataset.linkTarget = target; }
    return a;
  }

  function deliveryCard(d) {
    var card = el("div", "card s-" + d.status + (d.current ? " current" : " old"));
    card.id = cardId(d.environment, d.revision);
    card.dataset.env = d.environment;
    card.dataset.delivery = d.delivery;
    card.dataset.phase = d.phase || "Pending";
    card.dataset.status = d.status;
    card.dataset.revision = d.revision;
    card.dataset.current = d.current ? "true" : "false";
    var top = el("div", "row");
    top.appendChild(el("span", "name", d.delivery));
    top.appendChild(el("span", "badge", d.phase || "Pending"));
    card.appendChild(top);
    var sub = el("div", "row");
    sub.appendChild(el("span", "sha", d.short + (d.current ? " \u00b7 current" : "")));
    var when = el("span", "small");
    when.appendChild(age(d.age_seconds));
    sub.appendChild(when);
    card.appendChild(sub);
    if (d.health) { card.appendChild(el("div", "health", d.health)); }
    if (d.verified_on) {
      card.appendChild(el("div", "small", "verified on " + d.verified_on.slice(0, 7)));
    }
    if (d.stage || (d.message && d.status === "failed")) {
      card.appendChild(el("div", "error", [d.stage, d.message].filter(Boolean).join(": ")));
    } else if (d.gate || d.message) {
      card.appendChild(el("div", "small", d.gate || d.message));
    }
    var links = el("div", "links");
    d.promotions.forEach(function (p) {
      var target = p.landed ? cardId(p.target, p.landed)
        : (p.state === "waiting" ? candidateId(p.ref) : null);
      var text = "promoted to " + p.target + " \u2192 " + branch(p.ref) +
        (p.commit ? "@" + p.commit.slice(0, 7) : "") + " (" + p.state + ")";
      var a = link(target || "", text, target);
      a.className = "promotion";
      a.dataset.state = p.state;
      links.appendChild(a);
    });
    if (d.promoted_from) {
      var from = d.promoted_from;
      var back = link(cardId(from.environment, from.revision),
        "\u2190 promoted from " + from.environment + "@" + from.revision.slice(0, 7));
      back.className = "origin";
      links.appendChild(back);
    }
    if (links.childNodes.length) { card.appendChild(links); }
    return card;
  }

  function candidateCard(c) {
    var card = el("div", "card candidate");
    card.id = candidateId(c.ref);
    card.dataset.env = c.environment;
    card.dataset.delivery = c.delivery;
    card.dataset.phase = "WaitingForMerge";
    card.dataset.revision = c.revision;
    var top = el("div", "row");
    top.appendChild(el("span", "name", c.delivery));
    top.appendChild(el("span", "badge", "waiting for merge"));
    card.appendChild(top);
    var sub = el("div", "row");
    sub.appendChild(el("span", "sha", branch(c.ref) + "@" + c.short));
    var when = el("span", "small");
    when.appendChild(age(c.age_seconds));
    sub.appendChild(when);
    card.appendChild(sub);
    if (c.promoted_from) {
      var from = c.promoted_from;
      var links = el("div", "links");
      var back = link(cardId(from.environment, from.revision),
        "\u2190 promoted from " + from.environment + "@" + from.revision.slice(0, 7));
      back.className = "origin";
      links.appendChild(back);
      card.appendChild(links);
    }
    return card;
  }

  function column(env) {
    var col = el("section", "column");
    col.dataset.env = env.name;
    col.appendChild(el("h2", null, env.name));
    var meta = env.tip ? branch(env.branch) + "@" + env.tip.slice(0, 7) : "no branch";
    if (env.promotes_to.length) { meta += " \u2192 " + env.promotes_to.join(", "); }
    col.appendChild(el("div", "meta", meta));
    if (env.candidates.length) {
      col.appendChild(el("div", "section", "waiting for a merge"));
      env.candidates.forEach(function (c) { col.appendChild(candidateCard(c)); });
    }
    col.appendChild(el("div", "section", "deliveries"));
    if (!env.deliveries.length) { col.appendChild(el("div", "empty", "nothing delivered yet")); }
    env.deliveries.forEach(function (d) { col.appendChild(deliveryCard(d)); });
    return col;
  }

  var SVG = "http://www.w3.org/2000/svg";
  function drawLinks() {
    var board = document.getElementById("board");
    var svg = document.getElementById("links");
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    svg.setAttribute("width", String(board.scrollWidth));
    svg.setAttribute("height", String(board.scrollHeight));
    var defs = document.createElementNS(SVG, "defs");
    ["delivered", "waiting", "unknown"].forEach(function (s) {
      var marker = document.createElementNS(SVG, "marker");
      marker.setAttribute("id", "arrow-" + s);
      marker.setAttribute("viewBox", "0 0 10 10");
      marker.setAttribute("refX", "9"); marker.setAttribute("refY", "5");
      marker.setAttribute("markerWidth", "7"); marker.setAttribute("markerHeight", "7");
      marker.setAttribute("orient", "auto-start-reverse");
      var tip = document.createElementNS(SVG, "path");
      tip.setAttribute("d", "M0,0 L10,5 L0,10 z");
      tip.setAttribute("class", "arrow-" + s);
      tip.setAttribute("fill", colour(s));
      marker.appendChild(tip);
      defs.appendChild(marker);
    });
    svg.appendChild(defs);
    var origin = board.getBoundingClientRect();
    var anchors = board.querySelectorAll("a.promotion[data-link-target]");
    Array.prototype.forEach.call(anchors, function (a) {
      var from = a.closest(".card");
      var to = document.getElementById(a.dataset.linkTarget);
      if (!from || !to) { return; }
      var r1 = from.getBoundingClientRect(), r2 = to.getBoundingClientRect();
      var x1 = r1.right - origin.left + board.scrollLeft, y1 = r1.top + r1.height / 2 - origin.top;
      var x2 = r2.left - origin.left + board.scrollLeft, y2 = r2.top + r2.height / 2 - origin.top;
      var bend = Math.max(24, (x2 - x1) / 2);
      var path = document.createElementNS(SVG, "path");
      path.setAttribute("d", "M" + x1 + "," + y1 + " C" + (x1 + bend) + "," + y1 + " " +
        (x2 - bend) + "," + y2 + " " + x2 + "," + y2);
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", colour(a.dataset.state));
      path.setAttribute("stroke-width", "2");
      if (a.dataset.state !== "delivered") { path.setAttribute("stroke-dasharray", "6 4"); }
      path.setAttribute("marker-end", "url(#arrow-" + a.dataset.state + ")");
      path.dataset.from = from.id;
      path.dataset.to = to.id;
      svg.appendChild(path);
    });
  }
  function colour(s) {
    return s === "delivered" ? "#1a7f37" : (s === "waiting" ? "#bf8700" : "#8c959f");
  }

  function render(view) {
    state.view = view;
    state.fetchedAt = Date.now();
    document.getElementById("remote").textContent = view.remote;
    var board = document.getElementById("board");
    var svg = document.getElementById("links");
    var columns = document.createDocumentFragment();
    view.environments.forEach(function (env) { columns.appendChild(column(env)); });
    while (board.lastChild && board.lastChild !== svg) { board.removeChild(board.lastChild); }
    board.appendChild(columns);
    var warnings = document.getElementById("warnings");
    warnings.textContent = "";
    view.warnings.forEach(function (w) { warnings.appendChild(el("div", null, "warning: " + w)); });
    var failing = document.querySelectorAll(".card.current.s-failed").length;
    document.title = (failing ? failing + " failing \u00b7 " : "") + "pipeline";
    drawLinks();
    state.renders += 1;
    document.body.dataset.renders = String(state.renders);
    document.body.dataset.generatedAt = view.generated_at;
    tick();
  }

  function tick() {
    var elapsed = (Date.now() - state.fetchedAt) / 1000;
    var nodes = document.querySelectorAll(".age");
    Array.prototype.forEach.call(nodes, function (n) {
      n.textContent = ageText(Number(n.dataset.base) + elapsed) + " ago";
    });
    var updated = document.getElementById("updated");
    if (state.view) {
      updated.textContent = "read " + state.view.generated_at + " \u00b7 refreshed " +
        ageText(elapsed) + " ago";
    }
  }

  function banner(text) {
    var node = document.getElementById("banner");
    node.textContent = text || "";
    node.className = text ? "shown" : "";
  }

  function poll() {
    fetch("__API__", { cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(body.error || ("HTTP " + response.status)); }
          return body;
        });
      })
      .then(function (view) { banner(""); state.failures = 0; render(view); })
      .catch(function (err) {
        state.failures += 1;
        banner("Update failed, showing the last good read: " + err.message);
      })
      .then(function () { window.setTimeout(poll, POLL); });
  }

  var initial = JSON.parse(document.getElementById("pipeline-data").textContent);
  if (initial && initial.view) { render(initial.view); }
  if (initial && initial.error) { banner("Git read failed: " + initial.error); }
  window.setInterval(tick, 1000);
  window.addEventListener("resize", drawLinks);
  window.setTimeout(poll, POLL);
})();
