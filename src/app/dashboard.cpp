#include "turbotwin/app/rest_api.hpp"

namespace turbotwin::app {

// The operator dashboard: one self-contained page (no CDN, no web fonts, no external URL at all:
// control rooms are often offline), plain JS and inline SVG. It only reads the REST API (and the
// SSE stream when there is one), so it holds no data and is served without a token. Every route
// it uses may be missing on an older or newer server: a 404 shows as "not served", never breaks
// the rest of the page. Sent with the token kept in localStorage, so it also works when reads
// need a viewer token. Three raw literals (style, markup, script) joined at compile time.
const std::string& dashboard_html() {
    static const std::string page = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>turbotwin fleet</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
:root{--bg:#0f1419;--panel:#161d26;--line:#2a3442;--mute:#8fa1b3;--crit:#ff6b6b;--warn:#f7c948;--norm:#7bd88f;--acc:#5aa9ff}
*{box-sizing:border-box}
body{font:13px/1.4 system-ui,sans-serif;margin:0;background:var(--bg);color:#d8dee9}
header{padding:8px 20px;background:#1b2430;display:flex;flex-wrap:wrap;gap:6px 22px;align-items:center}
h1{font-size:18px;margin:0}h1 a{color:inherit;text-decoration:none}
h2{font-size:14px;margin:0 0 8px;color:#e5e9f0}h3{font-size:13px;margin:12px 0 6px;color:#e5e9f0}
a{color:var(--acc)}.mute,#status,#notes{color:var(--mute)}#notes:empty{display:none}
#counts b{margin-right:4px}#counts span{margin-right:12px}
main{display:grid;grid-template-columns:minmax(0,2fr) minmax(320px,1fr);gap:14px;padding:12px 20px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:10px 12px;min-width:0}
.scroll{max-height:calc(100vh - 130px);overflow:auto}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:3px 6px;text-align:right;border-bottom:1px solid var(--line);white-space:nowrap}
th{color:var(--mute);font-weight:500;position:sticky;top:0;background:var(--panel)}.l{text-align:left}
.pill{display:inline-block;padding:0 8px;border-radius:9px;font-weight:600;font-size:12px}
.pill.critical{background:#5c1f24;color:var(--crit)}.pill.warning{background:#4d3f14;color:var(--warn)}.pill.normal{background:#1d3b27;color:var(--norm)}
tr.row-critical td:first-child{box-shadow:inset 3px 0 var(--crit)}tr.row-warning td:first-child{box-shadow:inset 3px 0 var(--warn)}
.critical{color:var(--crit)}.warning{color:var(--warn)}.normal{color:var(--norm)}
.low{color:var(--warn);cursor:help;border-bottom:1px dotted var(--warn)}.high{color:var(--mute)}
.bar{position:relative;display:inline-block;width:110px;height:10px;background:#0b1016;border-radius:5px;vertical-align:middle}
.bar i{position:absolute;top:2px;height:6px;background:var(--acc);opacity:.55;border-radius:3px}
.bar b{position:absolute;top:0;width:2px;height:10px;background:#fff}
#feed{list-style:none;margin:0;padding:0}#feed li{border-bottom:1px solid var(--line);padding:6px 0}
.st-active{color:#fff;font-weight:600}.st-acknowledged{color:var(--acc)}.st-cleared{color:#6b7785}
.err{color:var(--crit)}.ok{color:var(--norm)}
input{background:#0b1016;border:1px solid var(--line);color:inherit;padding:2px 6px;border-radius:4px;font:inherit}
button{background:#24415f;border:1px solid #33597f;color:#e5e9f0;padding:2px 10px;border-radius:4px;cursor:pointer;font:inherit}
button:disabled{opacity:.5}
dl{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:4px 14px;margin:0}dt{color:var(--mute);font-size:11px}dd{margin:0}
svg{display:block;width:100%;height:auto}svg text{fill:var(--mute);font-size:10px}
.rul-band{fill:var(--acc);opacity:.25}.rul-line{fill:none;stroke:var(--acc);stroke-width:1.6}
.lvl{fill:none;stroke:#a3be8c;stroke-width:1.4}.axis{stroke:var(--line)}
.fc-bar{fill:var(--acc);opacity:.75}.fc-whisker{fill:none;stroke:#d8dee9;stroke-width:1.2}
.multiples{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:8px}
.multiples div{background:#0f151c;border:1px solid var(--line);border-radius:4px;padding:4px}
[hidden]{display:none!important}
</style></head><body>
<header><h1><a href="#/">turbotwin</a></h1><span id="counts"></span><span id="status">loading…</span>
<form id="tokform"><input id="token" type="password" placeholder="API token (operator to acknowledge)" size="30" autocomplete="off">
<button>save</button> <span id="tokstate" class="mute"></span></form><span id="notes"></span></header>
<main>
<section class="card" id="fleetview"><h2>Fleet, most at risk first <span id="sortnote" class="mute"></span></h2><div class="scroll">
<table id="fleet"><thead><tr><th class="l">engine</th><th>last cycle</th><th>RUL</th><th>90% interval</th><th class="l"></th><th>risk</th>
<th class="l">severity</th><th class="l">confidence</th><th class="l">active alert</th></tr></thead><tbody></tbody></table></div></section>
<section class="card" id="engineview" hidden></section>
<section class="card"><h2 id="feedtitle">Alerts, newest first</h2><div id="feedmsg" class="mute"></div><div class="scroll"><ul id="feed"></ul></div></section>
<section class="card" id="forecastview"><h2>Removal forecast <span class="mute">(next 90 days)</span></h2><div id="forecast" class="mute">…</div></section>
<section class="card" id="modelview"><h2>Models</h2><div id="models" class="mute">…</div></section>
</main>
)HTML" R"JS(<script>
'use strict';
const $ = s => document.querySelector(s);
const num = v => typeof v === 'number' && isFinite(v);
const f1 = v => num(v) ? v.toFixed(1) : '—';
const pct = v => num(v) ? (v < 0.01 && v > 0 ? '&lt;1%' : Math.round(v * 100) + '%') : '—';
const esc = s => String(s == null ? '' : s).replace(/[&<>"']/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
const sevOf = s => ['critical', 'warning', 'normal'].includes(s) ? s : 'normal';
const enc = encodeURIComponent;
const S = {assets: [], fleet: null, alerts: [], engineAlerts: null, missing: {}, drafts: {}, notes: {}, seen: {}, stream: 'polling',
           engine: null, detail: null, history: null, busy: false, err: ''};
let token = '';
try { token = localStorage.getItem('turbotwin.token') || ''; } catch (e) {}

// One request; never throws. {ok, status, body (parsed JSON or null), error (server message)}.
async function api(path, opt) {
  opt = opt || {};
  const headers = Object.assign({Accept: 'application/json'}, opt.headers || {});
  if (token) headers.Authorization = 'Bearer ' + token;
  let r;
  try { r = await fetch(path, {method: opt.method || 'GET', headers, body: opt.body, cache: 'no-store'}); }
  catch (e) { return {ok: false, status: 0, body: null, error: 'server unreachable'}; }
  let body = null, text = '';
  try { text = await r.text(); body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
  const m = body && body.error && body.error.message;
  return {ok: r.ok, status: r.status, body, text, error: m ? String(m) : (r.ok ? '' : 'HTTP ' + r.status)};
}
// Remembers which routes this server does not have yet (404 on a route name, not on an item).
function note(name, r) { if (r.status === 404 || r.status === 405 || r.status === 501) S.missing[name] = r.status; else if (r.ok) delete S.missing[name]; }

async function loadAssets() {
  let items = [], cursor = null, sort = '&sort=-risk', pages = 0;
  while (pages < 100) {
    const r = await api('/api/v1/assets?limit=1000' + sort + (cursor ? '&cursor=' + enc(cursor) : ''));
    if (r.status === 400 && sort && pages === 0) { sort = ''; continue; }  // a server that refuses the sort
    if (!r.ok || !r.body || !Array.isArray(r.body.items)) { S.err = 'assets: ' + r.error; return false; }
    items = items.concat(r.body.items.filter(a => a && a.id != null)); pages++;
    cursor = r.body.next_cursor;
    if (!cursor) break;
  }
  // Most at risk first: by risk (probability of failure within the critical horizon) when the
  // server gives it, else by RUL; ties by RUL then id so the order is stable between polls.
  const byRisk = items.length > 0 && items.every(a => num(a.risk));
  const rul = a => num(a.rul) ? a.rul : Infinity;
  items.sort((a, b) => (byRisk ? b.risk - a.risk : 0) || (rul(a) - rul(b)) || (String(a.id) < String(b.id) ? -1 : 1));
  S.byRisk = byRisk; S.assets = items; S.index = new Map(items.map(a => [a.id, a])); return true;
}

async function loadStatus() {
  const r = await api('/api/v1/fleet'); note('/api/v1/fleet', r);
  S.fleet = r.ok && r.body && typeof r.body === 'object' ? r.body : null;
  if (S.fleet && S.fleet.ingest) { S.ingest = S.fleet.ingest; return; }
  // Older server: the broker from /readyz, the counters from /metrics.
  const ing = {};
  const ready = await api('/readyz');
  if (ready.body && typeof ready.body.broker_connected === 'boolean') ing.broker_connected = ready.body.broker_connected;
  const m = await api('/metrics');
  if (m.ok && m.text) {
    let rej = 0, seen = false;  // the rejected counter has one series per reason
    for (const line of m.text.split('\n')) {
      const p = line.match(/^(turbotwin_[a-z_]+)(\{[^}]*\})? ([-+0-9.eE]+)$/);
      if (!p) continue;
      if (p[1] === 'turbotwin_readings_applied_total') ing.readings_applied = +p[3];
      if (p[1] === 'turbotwin_messages_received_total') ing.messages_received = +p[3];
      if (p[1] === 'turbotwin_ingest_backlog') ing.backlog = +p[3];
      if (p[1] === 'turbotwin_rejected_messages_total') { rej += +p[3]; seen = true; }
    }
    if (seen || m.text.includes('turbotwin_rejected_messages_total')) ing.rejected = rej;  // no sample yet: none rejected
  }
  S.ingest = ing;
}

async function loadAlerts() {
  const r = await api('/api/v1/alerts?limit=100'); note('/api/v1/alerts', r);
  if (r.ok && r.body && Array.isArray(r.body.items)) { S.alerts = r.body.items.filter(a => a && a.id != null); S.alertsErr = ''; }
  else S.alertsErr = r.error;
}

async function loadEngine(id) {
  const p = '/api/v1/assets/' + enc(id);
  const [d, h, al] = await Promise.all([api(p), api(p + '/history?max_points=200'), api('/api/v1/alerts?limit=100&asset=' + enc(id))]);
  if (S.engine !== id) return;
  S.detail = d.ok && d.body ? d.body : null; S.detailErr = d.ok ? '' : d.error;
  if (h.ok) delete S.missing.history; else if (d.ok) S.missing.history = h.status;  // the asset exists, its history route does not
  const pts = h.ok && h.body && Array.isArray(h.body.points) ? h.body.points.filter(x => x && num(x.cycle)) : null;
  S.history = pts && pts.length ? pts : null; S.historyEmpty = !!pts && !pts.length;
  S.engineAlerts = al.ok && al.body && Array.isArray(al.body.items) ? al.body.items.filter(a => a && a.asset === id) : null;
  if (S.detail && num(S.detail.last_cycle)) {  // points seen while this page is open: the trend when there is no history route
    const seen = S.seen[id] || (S.seen[id] = []);
    if (!seen.length || seen[seen.length - 1].cycle < S.detail.last_cycle) {
      const sensors = {};
      for (const [k, v] of Object.entries(S.detail.sensors || {})) if (v && num(v.level)) sensors[k] = v.level;
      seen.push({cycle: S.detail.last_cycle, rul: S.detail.rul, rul_lo: S.detail.rul_lo, rul_hi: S.detail.rul_hi, severity: S.detail.severity, sensors});
      if (seen.length > 400) seen.shift();
    }
  }
}

async function loadModels() {
  const r = await api('/api/v1/models'); note('/api/v1/models', r);
  S.models = r.ok && r.body && typeof r.body === 'object' ? r.body : null;
}

function renderModels() {
  const m = S.models, el = $('#models');
  if (!m) { el.textContent = 'not available from this server'; return; }
  const short = h => esc(String(h || '').replace('sha256:', '').slice(0, 12));
  const model = x => x ? `<b>${esc(x.model)}</b> <span class="mute" title="${esc(x.model_hash)}">${short(x.model_hash)}</span>` : '<span class="mute">none</span>';
  let h = `<dl><dt>active</dt><dd data-model="active">${model(m.active)}</dd><dt>shadow (candidate)</dt><dd data-model="shadow">${model(m.shadow)}</dd>` +
    `<dt>rollback</dt><dd>${m.rollback_available ? 'available' : '—'}</dd>` +
    (m.shadow ? `<dt>comparison</dt><dd><a href="/api/v1/models/shadow/report" target="_blank">shadow report</a></dd>` : '') + '</dl>';
  const audit = Array.isArray(m.audit) ? m.audit.slice(0, 5) : [];
  h += audit.length ? '<ul id="modelaudit">' + audit.map(a => `<li data-audit="${esc(a.action)}">${new Date(a.at_ms).toLocaleString()} · <b>${esc(a.action)}</b> by ${esc(a.by)}: ` +
    `${esc(a.from && a.from.model)} → ${esc(a.to && a.to.model)} (${num(a.engines) ? a.engines : '?'} engines)</li>`).join('') + '</ul>'
    : '<div class="mute">no promotion or rollback yet</div>';
  el.classList.remove('mute');
  el.innerHTML = h;
}

// The forecast is a Monte Carlo over the whole fleet: fetched on its own slow timer, never by
// the 2 s poll, so a large fleet cannot hold up the table and the alerts.
const FORECAST = '/api/v1/fleet/forecast?days=90';
async function refreshForecast() {
  const r = await api(FORECAST); note(FORECAST.split('?')[0], r);
  S.forecast = r.ok && r.body && Array.isArray(r.body.weeks) && Array.isArray(r.body.engines) ? r.body : null;
  S.forecastErr = r.ok ? '' : (r.status === 404 ? 'not available from this server' : r.error);
  try { renderForecast(); } catch (e) { S.err = 'forecast: ' + e; }
}

// Expected removals per week as bars, the 5-95% interval of the draws as whiskers. Each bar and
// whisker carries its numbers (data-*) as the API gave them.
function forecastChart(weeks) {
  const W = 760, H = 190, L = 34, R = 8, T = 8, B = 28;
  const top = Math.max(1, ...weeks.map(w => Math.max(num(w.removals_hi) ? w.removals_hi : 0, num(w.removals_mean) ? w.removals_mean : 0)));
  const Y = scale(0, top, H - B, T), slot = (W - L - R) / Math.max(1, weeks.length), bw = Math.max(2, slot * 0.64);
  let s = `<svg viewBox="0 0 ${W} ${H}" id="forecast-chart" role="img" aria-label="expected removals per week with 90% interval">`;
  s += `<line class="axis" x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}"/><line class="axis" x1="${L}" y1="${T}" x2="${L}" y2="${H - B}"/>`;
  for (const v of [0, top / 2, top]) s += `<text x="${L - 4}" y="${Y(v) + 3}" text-anchor="end">${tickFmt(v, top)}</text>`;
  weeks.forEach((w, i) => {
    const x = L + slot * i + (slot - bw) / 2, cx = +(x + bw / 2).toFixed(1), mean = num(w.removals_mean) ? w.removals_mean : 0;
    const tip = `week ${w.week + 1} (days ${f1(w.from_day)}–${f1(w.to_day)}): ${mean.toFixed(2)} expected, 90% interval ${w.removals_lo}–${w.removals_hi}`;
    s += `<rect class="fc-bar" data-week="${esc(w.week)}" data-mean="${esc(w.removals_mean)}" x="${x.toFixed(1)}" y="${Y(mean)}" width="${bw.toFixed(1)}" height="${+(Y(0) - Y(mean)).toFixed(1)}"><title>${esc(tip)}</title></rect>`;
    if (num(w.removals_lo) && num(w.removals_hi))
      s += `<path class="fc-whisker" data-week="${esc(w.week)}" data-lo="${esc(w.removals_lo)}" data-hi="${esc(w.removals_hi)}" ` +
           `d="M${cx},${Y(w.removals_hi)}V${Y(w.removals_lo)}M${+(cx - 3).toFixed(1)},${Y(w.removals_hi)}h6M${+(cx - 3).toFixed(1)},${Y(w.removals_lo)}h6"/>`;
    if (i === 0 || i === weeks.length - 1 || weeks.length <= 14)
      s += `<text x="${cx}" y="${H - B + 12}" text-anchor="middle">${w.week + 1}</text>`;
  });
  return s + `<text x="${W - R}" y="${H - 3}" text-anchor="end">week</text></svg>`;
}

function renderForecast() {
  const f = S.forecast, el = $('#forecast');
  if (!f) { el.className = 'mute'; el.textContent = S.forecastErr || '…'; S.forecastHtml = null; return; }
  const total = f.removals || {};
  // Ties (many engines are certain to get there) go to the soonest, then by id: stable between refreshes.
  const soon = e => num(e.median_days_to_critical) ? e.median_days_to_critical : Infinity;
  const ranked = f.engines.filter(e => e && e.asset != null && num(e.p_critical))
    .sort((a, b) => (b.p_critical - a.p_critical) || (soon(a) - soon(b)) || (String(a.asset) < String(b.asset) ? -1 : 1)).slice(0, 5);
  let h = `<div id="forecast-total" data-mean="${esc(total.mean)}" data-lo="${esc(total.lo)}" data-hi="${esc(total.hi)}">expected removals: ` +
    `<b>${num(total.mean) ? total.mean.toFixed(1) : '—'}</b> <span class="mute">(90% interval ${esc(total.lo)}–${esc(total.hi)}; ` +
    `${esc(f.engines.length)} engines at ${esc(f.cycles_per_day)} cycles/day; removed on reaching RUL ${esc(f.critical_rul)})</span></div>`;
  h += forecastChart(f.weeks);
  h += '<h3>Most likely to reach critical within 90 days</h3><table id="forecast-top"><thead><tr><th class="l">engine</th><th>probability</th>' +
    '<th>median days to critical</th><th>RUL</th></tr></thead><tbody>' + (ranked.length ? ranked.map(e =>
      `<tr data-forecast-engine="${esc(e.asset)}" data-p="${esc(e.p_critical)}"><td class="l"><a href="#/engine/${enc(e.asset)}">${esc(e.asset)}</a></td>` +
      `<td>${(e.p_critical * 100).toFixed(1)}%</td><td>${f1(e.median_days_to_critical)}</td><td>${f1(e.rul)}</td></tr>`).join('')
      : '<tr><td class="l mute" colspan="4">no engines yet</td></tr>') + '</tbody></table>';
  if (h !== S.forecastHtml) { el.className = ''; el.innerHTML = h; S.forecastHtml = h; }
}

async function tick() {
  if (S.busy) return;
  S.busy = true; S.err = '';
  try {
    const jobs = [loadStatus(), loadAlerts(), loadModels()];
    if (!S.engine || !S.fleet) jobs.push(loadAssets());
    if (S.engine) jobs.push(loadEngine(S.engine));
    await Promise.all(jobs);
    S.last = new Date();
  } catch (e) { S.err = String(e); }
  S.busy = false;
  render();
}

function render() {
  for (const [name, fn] of [['counts', renderCounts], ['status', renderStatus], ['fleet', renderFleet], ['feed', renderFeed], ['engine', renderEngine], ['models', renderModels]])
    try { fn(); } catch (e) { S.err = name + ': ' + e; }
  if (S.err) $('#status').insertAdjacentHTML('beforeend', ' · <span class="err">' + esc(S.err) + '</span>');
}

function renderCounts() {
  const f = S.fleet || {}, sev = f.by_severity && typeof f.by_severity === 'object' ? f.by_severity : null;
  const c = {critical: 0, warning: 0, normal: 0}, conf = {low: 0};
  if (sev) Object.assign(c, sev); else S.assets.forEach(a => c[sevOf(a.severity)]++);
  if (f.by_confidence && num(f.by_confidence.low)) conf.low = f.by_confidence.low; else S.assets.forEach(a => { if (a.confidence === 'low') conf.low++; });
  const n = num(f.assets) ? f.assets : S.assets.length;
  const act = f.alerts && num(f.alerts.active) ? f.alerts.active : S.alerts.filter(a => a.state === 'active').length;
  $('#counts').innerHTML = `<span><b>${n}</b>engines</span>` + ['critical', 'warning', 'normal'].map(s =>
    `<span class="${s}" data-count="${s}"><b>${num(c[s]) ? c[s] : 0}</b>${s}</span>`).join('') +
    `<span class="${conf.low ? 'low' : 'mute'}"><b>${conf.low}</b>low confidence</span><span><b>${act}</b>active alerts</span>`;
}

function renderStatus() {
  const i = S.ingest || {}, yes = i.broker_connected;
  const parts = [typeof yes === 'boolean' ? `broker <span class="${yes ? 'ok' : 'err'}">${yes ? 'connected' : 'disconnected'}</span>` : 'broker ?',
    'applied ' + (num(i.readings_applied) ? i.readings_applied : '?'), 'rejected ' + (num(i.rejected) ? i.rejected : '?')];
  if (num(i.backlog) && i.backlog > 0) parts.push('backlog ' + i.backlog);
  parts.push('refreshed ' + (S.last ? S.last.toLocaleTimeString() : 'never'), S.stream);
  $('#status').innerHTML = parts.join(' · ');
  const miss = Object.keys(S.missing);
  $('#notes').textContent = miss.length ? 'not served yet: ' + miss.map(k => k + ' (' + S.missing[k] + ')').join(', ') : '';
}

function intervalBar(a, top) {
  if (!num(a.rul)) return '';
  const x = v => Math.max(0, Math.min(100, (num(v) ? v : a.rul) / top * 100));
  const lo = x(a.rul_lo), hi = x(a.rul_hi);
  return `<span class="bar" title="90% interval ${f1(a.rul_lo)}–${f1(a.rul_hi)} cycles"><i style="left:${lo}%;width:${Math.max(1, hi - lo)}%"></i><b style="left:${x(a.rul)}%"></b></span>`;
}

function confCell(a) {
  if (a.confidence === 'low') return `<span class="low" title="${esc(a.confidence_reason || 'low confidence')}">low</span>`;
  return `<span class="high">${esc(a.confidence || '—')}</span>`;
}

function renderFleet() {
  $('#sortnote').textContent = S.assets.length ? (S.byRisk ? '(by risk of failure within the critical horizon)' : '(by RUL: this server gives no risk yet)') : '';
  let top = 50;  // the bars' scale: the widest interval shown, 50..300 cycles
  for (const a of S.assets) if (num(a.rul_hi)) top = Math.max(top, Math.min(300, a.rul_hi));
  const rows = S.assets.slice(0, 5000).map(a => {
    const id = esc(a.id), sev = sevOf(a.severity);
    return `<tr class="row-${sev}" id="engine-${id}" data-engine-id="${id}"><td class="l"><a href="#/engine/${enc(a.id)}">${id}</a>${a.fault ? ' <span class="err" title="' + esc(a.fault) + '">fault</span>' : ''}</td>` +
      `<td>${num(a.last_cycle) ? a.last_cycle : '—'}</td><td class="${sev}"><b>${f1(a.rul)}</b></td><td class="${sev}">${f1(a.rul_lo)}–${f1(a.rul_hi)}</td><td class="l">${intervalBar(a, top)}</td>` +
      `<td title="${num(a.risk_rul) ? '25% quantile of RUL: ' + f1(a.risk_rul) : ''}">${pct(a.risk)}</td><td class="l"><span class="pill ${sev}">${esc(a.severity || '—')}</span></td>` +
      `<td class="l">${confCell(a)}</td><td class="l">${a.active_alert ? '<span class="' + sev + '">' + esc(a.active_alert) + '</span>' : ''}</td></tr>`;
  });
  const empty = `<tr><td class="l mute" colspan="9">${S.err ? esc(S.err) : 'no engines yet'}</td></tr>`;
  const html = rows.length ? rows.join('') : empty;
  if (html !== S.fleetHtml) { $('#fleet tbody').innerHTML = html; S.fleetHtml = html; }
}

function alertItem(a) {
  const id = esc(a.id), sev = sevOf(a.severity), st = esc(a.state || '?');
  let h = `<li data-alert-id="${id}" data-state="${st}"><span class="pill ${sev}">${esc(a.severity)}</span> <b>${id}</b> ` +
    `<a href="#/engine/${enc(a.asset)}">${esc(a.asset)}</a> <span class="st-${st}">${st}</span><br><span class="mute">raised at cycle ${esc(a.raised_cycle)}` +
    (a.cleared_cycle != null ? `, cleared at ${esc(a.cleared_cycle)}` : '') + ` · RUL ${f1(a.rul)} [${f1(a.rul_lo)}–${f1(a.rul_hi)}]</span>`;
  const k = a.acknowledged;
  if (k && typeof k === 'object')
    h += `<br>acknowledged by <b>${esc(k.by)}</b>${num(k.at_ms) ? ' at ' + esc(new Date(k.at_ms).toLocaleString()) : ''}${k.comment ? ': “' + esc(k.comment) + '”' : ''}`;
  if (a.state === 'active')
    h += `<br><input data-comment="${id}" placeholder="comment" size="26" maxlength="2000" value="${esc(S.drafts[a.id] || '')}"> <button data-ack="${id}">Acknowledge</button>`;
  const n = S.notes[a.id];
  if (n) h += ` <span class="${n.ok ? 'ok' : 'err'}" data-ack-result="${id}">${esc(n.msg)}</span>`;
  return h + '</li>';
}

function renderFeed() {
  const list = S.engine ? (S.engineAlerts || S.alerts.filter(a => a.asset === S.engine)) : S.alerts;
  $('#feedtitle').textContent = S.engine ? 'Alerts for ' + S.engine + ', newest first' : 'Alerts, newest first';
  $('#feedmsg').textContent = S.alertsErr ? 'alerts: ' + S.alertsErr : (list.length ? '' : 'no alerts');
  const html = list.map(alertItem).join('');
  if (html === S.feedHtml) return;
  const f = document.activeElement, typing = f && f.dataset && f.dataset.comment, pos = typing ? f.selectionStart : 0;
  $('#feed').innerHTML = html; S.feedHtml = html;
  if (typing) { const e = document.querySelector(`[data-comment="${CSS.escape(typing)}"]`); if (e) { e.focus(); e.setSelectionRange(pos, pos); } }
}

async function acknowledge(id, btn) {
  btn.disabled = true; S.notes[id] = {ok: true, msg: 'sending…'};
  const r = await api('/api/v1/alerts/' + enc(id) + '/ack', {method: 'POST', headers: {'Content-Type': 'application/json'},
                       body: JSON.stringify({comment: S.drafts[id] || ''})});
  if (r.ok) {
    delete S.drafts[id]; S.notes[id] = {ok: true, msg: 'acknowledged'};
    if (r.body && r.body.id === id) for (const l of [S.alerts, S.engineAlerts || []]) l.forEach((a, i) => { if (a.id === id) l[i] = r.body; });
  } else {
    const why = r.status === 401 ? ' (enter an operator token above)' : r.status === 403 ? ' (this token may not acknowledge)' : '';
    S.notes[id] = {ok: false, msg: (r.status ? r.status + ': ' : '') + r.error + why};
  }
  S.feedHtml = null; renderFeed(); setTimeout(tick, 200);
}

// ---- per-engine page -------------------------------------------------------------------
function scale(d0, d1, r0, r1) { const k = d1 > d0 ? (r1 - r0) / (d1 - d0) : 0; return v => +(r0 + (v - d0) * k).toFixed(1); }
// As many decimals as the span needs (2388.06 vs 2388.31, but 0 / 82 / 165).
function tickFmt(v, span) { return v.toFixed(Math.max(0, Math.min(4, Math.ceil(-Math.log10(span > 0 ? span : Math.abs(v) || 1)) + 1))); }

// A line over cycles, with a band when the points have lo/hi. pts: [{x, y, lo, hi}] sorted by x.
function chart(pts, o) {
  const W = o.w, H = o.h, L = 44, R = 8, T = o.title ? 16 : 6, B = 16;
  if (!pts.length) return `<svg viewBox="0 0 ${W} ${H}" class="${o.cls}"><text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text></svg>`;
  const band = pts.filter(p => num(p.lo) && num(p.hi));
  let x0 = pts[0].x, x1 = pts[pts.length - 1].x;
  if (x1 === x0) { x0 -= 5; x1 += 5; }
  const ys = pts.map(p => p.y).concat(band.map(p => p.lo), band.map(p => p.hi));
  let y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (o.zero) y0 = Math.min(0, y0);
  if (y1 - y0 < 1e-9) { y0 -= 1; y1 += 1; } else { const pad = (y1 - y0) * 0.06; y1 += pad; if (!o.zero) y0 -= pad; }
  const X = scale(x0, x1, L, W - R), Y = scale(y0, y1, H - B, T);
  let s = `<svg viewBox="0 0 ${W} ${H}" class="${o.cls}"${o.id ? ' id="' + o.id + '"' : ''} role="img" aria-label="${esc(o.title || '')}">`;
  if (o.title) s += `<text x="${L}" y="11" style="fill:#d8dee9">${esc(o.title)}</text>`;
  s += `<line class="axis" x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}"/><line class="axis" x1="${L}" y1="${T}" x2="${L}" y2="${H - B}"/>`;
  for (const v of [y0, (y0 + y1) / 2, y1]) s += `<text x="${L - 4}" y="${Y(v) + 3}" text-anchor="end">${tickFmt(v, y1 - y0)}</text>`;
  if (pts.length > 1) s += `<text x="${L}" y="${H - 3}">${Math.round(pts[0].x)}</text>`;
  s += `<text x="${W - R}" y="${H - 3}" text-anchor="end">cycle ${Math.round(pts[pts.length - 1].x)}</text>`;
  if (band.length) {  // a single point still gets a visible sliver of band
    const b = band.length > 1 ? band : [-0.2, 0.2].map(dx => ({x: band[0].x + dx, lo: band[0].lo, hi: band[0].hi}));
    s += `<path class="rul-band" d="M${b.map(p => X(p.x) + ',' + Y(p.hi)).join('L')}L${b.slice().reverse().map(p => X(p.x) + ',' + Y(p.lo)).join('L')}Z"><title>90% interval</title></path>`;
  }
  s += `<polyline class="${o.line}" points="${pts.map(p => X(p.x) + ',' + Y(p.y)).join(' ')}"/>`;
  const e = pts[pts.length - 1];
  s += `<circle cx="${X(e.x)}" cy="${Y(e.y)}" r="3" class="${o.dot || ''}" style="fill:${o.dotColor || '#fff'}"/>`;
  return s + '</svg>';
}

const MAIN = ['T24', 'T30', 'T50', 'P30', 'Nf', 'Nc', 'Ps30', 'phi', 'NRf', 'NRc', 'BPR', 'htBleed', 'W31', 'W32'];
const SEVCOL = {critical: '#ff6b6b', warning: '#f7c948', normal: '#7bd88f'};

function renderEngine() {
  const v = $('#engineview');
  $('#fleetview').hidden = !!S.engine; v.hidden = !S.engine;
  if (!S.engine) { v.innerHTML = ''; return; }
  const id = S.engine, d = S.detail;
  let h = `<h2><a href="#/">← fleet</a> &nbsp; <span data-engine-id="${esc(id)}">${esc(id)}</span> `;
  if (!d) { v.innerHTML = h + `</h2><p class="mute">${esc(S.detailErr || 'loading…')}</p>`; return; }
  const sev = sevOf(d.severity);
  h += `<span class="pill ${sev}">${esc(d.severity)}</span></h2><dl>` +
    [['last cycle', esc(d.last_cycle)], ['RUL (90% interval)', `<b>${f1(d.rul)}</b> [${f1(d.rul_lo)}–${f1(d.rul_hi)}]`], ['risk', pct(d.risk)],
     ['RUL 25% quantile', f1(d.risk_rul)], ['confidence', confCell(d) + (d.confidence === 'low' && d.confidence_reason ? ' <span class="mute">' + esc(d.confidence_reason) + '</span>' : '')],
     ['novelty', num(d.novelty) ? d.novelty.toFixed(2) : '—'], ['readings', esc(d.readings)], ['active alert', esc(d.active_alert || 'none')],
     ['fault', d.fault ? `<span class="err">${esc(d.fault)}</span>` : 'none'], ['updated', num(d.updated_ms) ? esc(new Date(d.updated_ms).toLocaleTimeString()) : '—']]
      .map(([k, x]) => `<div><dt>${k}</dt><dd>${x}</dd></div>`).join('') + '</dl>';
  const hist = S.history, pts = (hist || S.seen[id] || []).slice().sort((a, b) => a.cycle - b.cycle);
  const src = hist ? `history route, ${pts.length} points` : (S.historyEmpty ? 'no history stored yet' : 'the history route is not served yet') +
    `: ${pts.length} point(s) seen since this page opened`;
  h += `<h3>RUL over cycles, 90% interval band <span class="mute">(${esc(src)})</span></h3>`;
  h += chart(pts.filter(p => num(p.rul)).map(p => ({x: p.cycle, y: p.rul, lo: p.rul_lo, hi: p.rul_hi})),
             {w: 760, h: 220, cls: 'rul-chart', id: 'rul-chart', line: 'rul-line', zero: true, dotColor: SEVCOL[sev]});
  const names = new Set(); pts.forEach(p => Object.keys(p.sensors || {}).forEach(k => names.add(k)));
  const order = MAIN.filter(k => names.has(k)).concat([...names].filter(k => !MAIN.includes(k)).sort());
  h += '<h3>Filtered sensor levels</h3><div class="multiples">' + (order.length ? order.map(k => '<div>' +
    chart(pts.filter(p => p.sensors && num(p.sensors[k])).map(p => ({x: p.cycle, y: p.sensors[k]})), {w: 220, h: 90, cls: 'sensor-chart', line: 'lvl', title: k, dotColor: '#a3be8c'}) +
    '</div>').join('') : '<span class="mute">no sensor history yet</span>') + '</div>';
  const sens = d.sensors && typeof d.sensors === 'object' ? d.sensors : {};
  const keys = MAIN.filter(k => sens[k]).concat(Object.keys(sens).filter(k => !MAIN.includes(k)).sort());
  h += '<h3>Current levels and trends (±1σ)</h3><table id="sensors"><thead><tr><th class="l">sensor</th><th>level</th><th>± σ</th><th>trend / cycle</th><th>± σ</th><th class="l"></th></tr></thead><tbody>' +
    keys.map(k => { const c = sens[k] || {}, z = num(c.slope) && num(c.slope_std) && c.slope_std > 0 ? c.slope / c.slope_std : 0;
      const t = z > 2 ? '↑ rising' : z < -2 ? '↓ falling' : 'steady';
      return `<tr data-sensor="${esc(k)}"><td class="l">${esc(k)}</td><td>${num(c.level) ? tickFmt(c.level, 3 * (c.level_std || 0)) : '—'}</td><td>${num(c.level_std) ? c.level_std.toPrecision(2) : '—'}</td>` +
        `<td>${num(c.slope) ? c.slope.toExponential(2) : '—'}</td><td>${num(c.slope_std) ? c.slope_std.toExponential(1) : '—'}</td><td class="l ${Math.abs(z) > 2 ? 'warning' : 'mute'}">${t}</td></tr>`; }).join('') +
    (keys.length ? '' : '<tr><td class="l mute" colspan="6">no filtered sensors</td></tr>') + '</tbody></table>';
  if (h !== S.engineHtml) { v.innerHTML = h; S.engineHtml = h; }
}

function route() {
  const m = location.hash.match(/^#\/engine\/(.+)$/);
  let id = null;
  if (m) try { id = decodeURIComponent(m[1]); } catch (e) { id = m[1]; }
  if (id !== S.engine) { S.engine = id; S.detail = null; S.history = null; S.engineAlerts = null; S.engineHtml = null; S.feedHtml = null; }
  render(); tick();
}

// ---- live updates: Server-Sent Events when the server has them, polling always -----------
let soon = null;
function poke() { if (!soon) soon = setTimeout(() => { soon = null; tick(); }, 500); }  // at most 2 refreshes/s in a burst
function openStream() {
  // EventSource cannot send a bearer token: when reads need one the stream fails and polling carries on.
  // Headless browsers (screenshots, tests) only poll: an open stream is a fetch that never ends,
  // and it stops their virtual clock (--virtual-time-budget would then never expire).
  if (!window.EventSource || /Headless/.test(navigator.userAgent)) { S.stream = 'polling every 2 s'; return; }
  let es;
  try { es = new EventSource('/api/v1/stream'); } catch (e) { return; }
  S.stream = 'polling every 2 s';
  es.onopen = () => { S.stream = 'live (stream)'; };
  es.addEventListener('rul', ev => {
    try {
      const m = JSON.parse(ev.data), a = S.index && S.index.get(m.asset);
      if (a) for (const k of ['last_cycle', 'rul', 'rul_lo', 'rul_hi', 'severity', 'confidence', 'confidence_reason', 'risk']) if (k in m) a[k] = m[k];
      if (a && num(m.cycle)) a.last_cycle = m.cycle;
    } catch (e) {}
    poke();
  });
  es.addEventListener('alert', poke);
  es.onerror = () => {
    if (es.readyState === 2) { es.close(); S.stream = 'polling every 2 s (no stream)'; setTimeout(openStream, 60000); }
    else S.stream = 'polling every 2 s (stream reconnecting)';
  };
}

document.addEventListener('click', e => {
  const b = e.target.closest && e.target.closest('button[data-ack]');
  if (b) { e.preventDefault(); acknowledge(b.dataset.ack, b); }
});
document.addEventListener('input', e => { const id = e.target.dataset && e.target.dataset.comment; if (id) S.drafts[id] = e.target.value; });
$('#tokform').addEventListener('submit', e => {
  e.preventDefault();
  token = $('#token').value.trim(); $('#token').value = '';
  try { if (token) localStorage.setItem('turbotwin.token', token); else localStorage.removeItem('turbotwin.token'); } catch (x) {}
  $('#tokstate').textContent = token ? 'token saved' : 'no token'; tick(); refreshForecast();
});
$('#tokstate').textContent = token ? 'token saved' : 'no token';
window.addEventListener('hashchange', route);
route(); setInterval(tick, 2000); setTimeout(openStream, 1000);
refreshForecast(); setInterval(refreshForecast, 30000);
</script></body></html>
)JS";
    return page;
}

}  // namespace turbotwin::app
