/* Hub first-party tracking snippet: docs/tracking.md */
(function (w, d) {
  'use strict';
  var C = /*HUB_CONFIG*/{};
  var s = d.currentScript || d.querySelector('script[data-key]');
  if (!s || (w.hub && w.hub.v)) return;
  var at = function (n) { return s.getAttribute('data-' + n) || ''; };
  var key = at('key');
  if (!key) return;
  var ep = new URL(s.src, location.href).origin + '/v1/collect?key=' + encodeURIComponent(key);
  var cdom = at('cookie-domain');
  var consent = at('consent') === 'required' ? 'pending' : 'unknown';
  var P = C.p, H = {}, B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  var VID = /^[A-Za-z0-9_-]{1,32}$/, TOK = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{1,512}$/, FB = { lead: 'Lead', initiate_checkout: 'InitiateCheckout', add_to_cart: 'AddToCart', purchase: 'Purchase' };
  var TYPES = { page_view: 1, lead: 1, initiate_checkout: 1, add_to_cart: 1, purchase: 1, identify: 1 };
  var k, ids = {}, q = [], held = [], timer, sig = {}, dl, dli = 0, pend = {}, seq = 0;
  var KEY_Q = '_hub_q', KEEP = 20, KEEP_FOR = 10 * 60000;
  var SIG = { ad_user_data: 'ad_user_data', ad_personalization: 'ad_personalization', analytics: 'analytics' };
  var GCM = { ad_user_data: 'ad_user_data', ad_personalization: 'ad_personalization', analytics_storage: 'analytics' };
  for (k in C.h) H[k] = C.h[k];
  at('gateways').split(',').forEach(function (p) {
    p = p.split('=');
    if (p[1]) H[p[0].trim().toLowerCase()] = p[1].trim();
  });
  at('decorate').split(',').forEach(function (h) {
    if ((h = h.trim().toLowerCase())) H[h] = 'generic';
  });
  if (at('param')) P.generic = [at('param')];
  var qs = new URL(location.href).searchParams;

  function cookie(n) {
    var m = d.cookie.match('(?:^|; )' + n + '=([^;]*)');
    try { return m ? decodeURIComponent(m[1]) : ''; } catch (e) { return ''; }
  }
  function setCookie(n, v, days) {
    d.cookie = n + '=' + v + '; Max-Age=' + days * 86400 + '; Path=/; SameSite=Lax' +
      (cdom ? '; Domain=' + cdom : '') + (location.protocol === 'https:' ? '; Secure' : '');
  }
  function rnd(n) {
    var a = new Uint8Array(n), o = '';
    crypto.getRandomValues(a);
    for (var i = 0; i < n; i++) o += B62[a[i] % 62];
    return o;
  }
  function tok(n) {
    var v = qs.get(n) || '';
    return TOK.test(v) ? v : '';
  }
  function canId() { return consent === 'unknown' || consent === 'granted'; }

  // Identifiers: the visitor id, Meta's fbc (rebuilt only for a new fbclid, copied byte for
  // byte) and fbp (ours only when the pixel has not set one), GA4's client id and TikTok's _ttp.
  function resolve() {
    var now = Date.now(), v = cookie('_hub_vid'), hv = qs.get(C.g) || '';
    ids.vid = VID.test(v) ? v : VID.test(hv) ? hv : 'k_' + rnd(22);
    var fbclid = qs.get('fbclid'), fbc = cookie('_fbc');
    if (!/^[\w.~-]{1,500}$/.test(fbclid)) fbclid = '';
    if (fbclid && fbc.split('.').slice(3).join('.') !== fbclid) fbc = 'fb.1.' + now + '.' + fbclid;
    ids.fbc = fbc;
    ids.fbp = cookie('_fbp') || 'fb.1.' + now + '.' + (1e9 + Math.floor(Math.random() * 9e9));
    ids.fbclid = fbclid;
    ids.gclid = qs.get('gclid');
    // Google's iOS click ids, sent only as the server accepts them (printable ASCII without
    // spaces, quotes, commas, semicolons or backslashes, at most 512): an odd one would refuse
    // the whole event, and the server still reads a usable one from the URL.
    ids.gbraid = tok('gbraid');
    ids.wbraid = tok('wbraid');
    ids.ttclid = qs.get('ttclid');
    ids.ttp = cookie('_ttp');
  }
  // GA4's cookies, read at every event (gtag may set them after this script ran): the client id
  // is _ga's last two fields; each _ga_<container> holds that stream's session id, in the GS1
  // (third field) or the GS2 ('s' field, any order) format. docs/destinations/ga4.md.
  function ga() {
    ids.ga = cookie('_ga').split('.').slice(2).join('.');
    var out = [], seen = {};
    d.cookie.split(/;\s*/).forEach(function (c) {
      var m = /^_ga_([A-Z0-9]{1,20})=(.*)$/.exec(c), v, id = '';
      if (!m || seen[m[1]] || out.length >= 5) return;
      try { v = decodeURIComponent(m[2]); } catch (e) { return; }
      if (v.indexOf('GS1.') === 0) id = v.split('.')[2] || '';
      else if (v.indexOf('GS2.') === 0) {
        v.split('.').slice(2).join('.').split('$').forEach(function (f) { if (!id && f.charAt(0) === 's') id = f.slice(1); });
      }
      if (/^[0-9]{1,20}$/.test(id)) { seen[m[1]] = 1; out.push(m[1] + ':' + id); }
    });
    ids.gs = out.sort().join(',');
  }
  function persist() {
    setCookie('_hub_vid', ids.vid, 400);
    if (ids.fbc) setCookie('_fbc', ids.fbc, 90);
    setCookie('_fbp', ids.fbp, 90);
  }

  function fill(e) {
    ga();
    e.visitor_id = ids.vid;
    e.consent = consent === 'granted' ? 'granted' : 'unknown';
    var c = {}, n = 0;
    for (k in sig) { c[k] = sig[k]; n++; }
    if (n) e.consent_signals = c;
    var m = { fbclid: ids.fbclid, gclid: ids.gclid, gbraid: ids.gbraid, wbraid: ids.wbraid, ttclid: ids.ttclid, fbc: ids.fbc, fbp: ids.fbp, ga_client_id: ids.ga, ga_sessions: ids.gs, ttp: ids.ttp };
    for (k in m) if (m[k]) e[k] = m[k];
  }
  function push(e) {
    gcm();
    if (consent === 'denied') return;
    if (consent === 'pending') { if (held.length < 50) held.push(e); return; }
    fill(e);
    q.push(e);
    clearTimeout(timer);
    timer = setTimeout(flush, 0);
  }
  function flush() {
    while (q.length) send(JSON.stringify({ events: q.splice(0, 100) }), 0);
  }
  // fetch keepalive survives navigation and lets us retry a 429/5xx (the server dedupes by
  // event_id); sendBeacon is the fallback. text/plain keeps it a CORS simple request. Retries
  // wait 1, 2 and 4 s, each between half and one and a half times that, so the visitors a busy
  // Hub refused at one moment do not all come back at the same one. A request refused after
  // every retry, or not answered yet or waiting for its next retry when the page goes away (a
  // lead form's page usually does at once), is kept in the tab's sessionStorage, and the next
  // page with the snippet in this tab sends it again. since is when an earlier page first kept
  // it.
  function send(body, n, since) {
    var id = ++seq;
    pend[id] = { t: since, b: body };
    function retry() {
      if (!pend[id]) return; // kept for the next page meanwhile
      if (n >= 3) {
        delete pend[id];
        return keep([{ t: since, b: body }]);
      }
      setTimeout(function () {
        if (!pend[id]) return;
        delete pend[id];
        send(body, n + 1, since);
      }, (1000 << n) * (0.5 + Math.random()));
    }
    if (!w.fetch) {
      delete pend[id];
      return navigator.sendBeacon && navigator.sendBeacon(ep, body);
    }
    fetch(ep, { method: 'POST', body: body, keepalive: body.length < 60000, credentials: 'include', headers: { 'Content-Type': 'text/plain' } })
      .then(function (r) { if (r.status === 429 || r.status >= 500) retry(); else delete pend[id]; }, retry);
  }
  // keep adds requests ({t: when first kept, if ever; b: the body}) to what this tab keeps in
  // sessionStorage (this site's storage, gone with the tab): KEEP requests at most, the newest,
  // each sent again only within KEEP_FOR of when it was first kept, without their e-mails and
  // phones (never written to storage). A request that did reach Hub and comes again is stored
  // once (the same event ids).
  function keep(reqs) {
    var a = kept();
    reqs.forEach(function (r) {
      try {
        var b = JSON.parse(r.b);
        b.events.forEach(function (e) { delete e.email; delete e.phone; });
        a.push({ t: r.t || Date.now(), b: JSON.stringify(b) });
      } catch (e) { /* not ours */ }
    });
    try { sessionStorage.setItem(KEY_Q, JSON.stringify(a.slice(-KEEP))); } catch (e) { /* storage off or full */ }
  }
  function kept() {
    var a;
    try { a = JSON.parse(sessionStorage.getItem(KEY_Q) || '[]'); } catch (e) { a = []; }
    return Array.isArray(a) ? a.filter(function (x) { return x && typeof x.b === 'string' && Date.now() - x.t < KEEP_FOR; }) : [];
  }
  function keepPending() {
    var b = [], id;
    for (id in pend) b.push(pend[id]);
    pend = {};
    if (b.length) keep(b);
  }
  // sendKept sends what an earlier page of this tab kept, once the visitor's consent allows
  // events (the same rule as the events held in memory).
  function sendKept() {
    if (consent === 'pending') return;
    var a = kept();
    try { sessionStorage.removeItem(KEY_Q); } catch (e) { return; }
    if (consent !== 'denied') a.forEach(function (x) { send(x.b, 0, x.t); });
  }

  // An event given to the Meta Pixel carries pixel: true, so Hub knows the Pixel has its event
  // id (the dashboard's browser-server deduplication coverage). A purchase on the thank-you page,
  // hub('track', 'purchase', {eventID: '<gateway>:<order>:purchase', value, currency}), fires the
  // Pixel's standard Purchase with Hub's server event id.
  function track(name, props) {
    props = props || {};
    if (/^purchase$/i.test(name)) name = 'purchase';
    var custom = !TYPES[name], eid = props.eventID || props.event_id || 'e_' + rnd(20), clean = {}, n = 0;
    for (k in props) if (!/^(email|phone|eventID|event_id)$/.test(k)) { clean[k] = props[k]; n++; }
    var e = { type: custom ? 'custom' : name, event_id: String(eid), occurred_at: Date.now(), url: location.href };
    if (custom) e.name = String(name);
    if (d.referrer) e.referrer = d.referrer;
    if (navigator.webdriver) e.webdriver = true;
    var u = {};
    ['source', 'medium', 'campaign', 'content', 'term'].forEach(function (f) {
      var v = qs.get('utm_' + f);
      if (v) { u[f] = v; e.utm = u; }
    });
    if (props.email) e.email = String(props.email);
    if (props.phone) e.phone = String(props.phone);
    if (n) e.props = clean;
    var px = w.fbq && at('fbq') !== 'off' && name !== 'page_view' && name !== 'identify' && canId();
    if (px) e.pixel = true;
    push(e);
    if (px) w.fbq(custom ? 'trackCustom' : 'track', custom ? name : FB[name], clean, { eventID: e.event_id });
    return e.event_id;
  }

  // Checkout links: the gateway copies these parameters into its webhook (docs/tracking.md).
  function gw(u) {
    var h = u.hostname;
    if (H[u.host] || H[h]) return H[u.host] || H[h];
    for (;;) {
      if (H['.' + h]) return H['.' + h];
      var i = h.indexOf('.');
      if (i < 0) return '';
      h = h.slice(i + 1);
    }
  }
  function decorate(href) {
    var u;
    try { u = new URL(href, location.href); } catch (e) { return href; }
    var p = canId() && /^https?:$/.test(u.protocol) && P[gw(u)];
    if (!p) return href;
    p.forEach(function (n) { u.searchParams.set(n, ids.vid); });
    return u.href;
  }
  function decorateLink(a) {
    var h = decorate(a.href);
    if (h !== a.href) a.href = h;
  }
  function decorateAll() {
    [].forEach.call(d.querySelectorAll('a[href]'), decorateLink);
  }
  function onClick(ev) {
    var a = ev.target && ev.target.closest && ev.target.closest('a[href]');
    if (a) decorateLink(a);
  }

  // Consent: the string form decides for every purpose; the object form sets each purpose it
  // names, and its analytics decides Hub's own measurement like the string form.
  function setConsent(v) {
    if (v && typeof v === 'object') {
      for (k in SIG) if (v[k] === 'granted' || v[k] === 'denied') sig[SIG[k]] = v[k];
      if (v.analytics === 'granted' || v.analytics === 'denied') overall(v.analytics);
      return;
    }
    if (v === 'granted' || v === 'denied') {
      for (k in SIG) sig[SIG[k]] = v;
      overall(v);
    }
  }
  function overall(v) {
    if (v === 'granted') {
      consent = 'granted';
      persist();
      var h = held;
      held = [];
      h.forEach(push);
      sendKept();
      decorateAll();
    } else if (v === 'denied') {
      consent = 'denied';
      held = [];
      sendKept(); // drops them
      if (cookie('_hub_vid')) setCookie('_hub_vid', '', 0);
    }
  }
  // Google Consent Mode v2: gtag('consent', 'default'|'update', {...}) pushes its arguments to
  // dataLayer. Hub reads the entries it has not read yet at start, at every push (dataLayer.push
  // wrapped) and before every event (in case the wrap was replaced). An update is the visitor's
  // choice, like hub('consent', {...}); a default is the state before any choice: its signals
  // are taken (unless it names regions), and a denied analytics_storage holds events (as data-consent="required" does)
  // until an update grants it.
  function gcm() {
    var a = w.dataLayer, e, c, m, i;
    if (!a || typeof a.length !== 'number') return;
    if (a !== dl) {
      dl = a;
      dli = 0;
      if (typeof a.push === 'function' && !a.push.hub) {
        var orig = a.push;
        a.push = function () { var r = orig.apply(a, arguments); gcm(); return r; };
        a.push.hub = 1;
      }
    }
    while (dli < a.length) {
      e = a[dli++]; // advanced first: an update releases held events, which reads again
      if (!e || e[0] !== 'consent' || !(c = e[2]) || typeof c !== 'object') continue;
      m = {};
      for (i in GCM) if (c[i] === 'granted' || c[i] === 'denied') m[GCM[i]] = c[i];
      if (e[1] === 'update') setConsent(m);
      else if (e[1] === 'default' && !c.region) { // a regional default: Hub cannot tell the region
        for (i in m) sig[i] = m[i];
        if (m.analytics === 'denied' && consent === 'unknown') consent = 'pending';
      }
    }
  }

  function hub(cmd, a, b) {
    if (cmd === 'track') return track(a, b);
    if (cmd === 'consent') return setConsent(a);
    if (cmd === 'decorate') return decorate(a);
    if (cmd === 'visitor') return canId() ? ids.vid : '';
  }
  var pre = (w.hub && w.hub.q) || [];
  hub.v = 1;
  w.hub = hub;
  resolve();
  gcm();
  if (consent === 'unknown') persist();
  d.addEventListener('click', onClick, true);
  d.addEventListener('auxclick', onClick, true);
  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', decorateAll);
  else decorateAll();
  w.addEventListener('pagehide', function () { flush(); keepPending(); });
  // A phone may discard a hidden tab without pagehide: keep what waits while hidden, and send it
  // when the page is shown again.
  d.addEventListener('visibilitychange', function () { if (d.visibilityState === 'hidden') keepPending(); else sendKept(); });
  sendKept();
  if (at('page-view') !== 'off') track('page_view');
  pre.forEach(function (args) { hub.apply(null, args); });
})(window, document);
