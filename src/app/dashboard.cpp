#include "turbotwin/app/rest_api.hpp"

namespace turbotwin::app {

// A dependency-free page (no CDN: control rooms are often offline) that polls the REST API.
const std::string& dashboard_html() {
    static const std::string page = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>turbotwin fleet</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:14px system-ui,sans-serif;margin:0;background:#0f1419;color:#d8dee9}
 header{padding:12px 20px;background:#1b2430;display:flex;gap:24px;align-items:baseline}
 h1{font-size:18px;margin:0} main{display:grid;grid-template-columns:2fr 1fr;gap:16px;padding:16px 20px}
 table{width:100%;border-collapse:collapse} th,td{padding:4px 8px;text-align:right;border-bottom:1px solid #2a3442}
 th:first-child,td:first-child{text-align:left} .critical{color:#ff6b6b;font-weight:600} .warning{color:#f7c948}
 .normal{color:#7bd88f} .cleared{color:#6b7785} .band{display:inline-block;height:8px;background:#3b82f6;opacity:.6;border-radius:4px}
 section h2{font-size:15px;margin:4px 0 8px} #status{color:#8fa1b3}
</style></head><body>
<header><h1>turbotwin</h1><span id="counts"></span><span id="status">loading…</span></header>
<main>
 <section><h2>Fleet, most at risk first</h2>
  <table id="fleet"><thead><tr><th>engine</th><th>cycle</th><th>RUL</th><th>90% interval</th><th></th><th>severity</th></tr></thead><tbody></tbody></table>
 </section>
 <section><h2>Alerts</h2>
  <table id="alerts"><thead><tr><th>alert</th><th>severity</th><th>state</th><th>cycle</th><th>RUL</th></tr></thead><tbody></tbody></table>
 </section>
</main>
<script>
const fmt = v => (Math.round(v * 10) / 10).toFixed(1);
const esc = s => String(s).replace(/[&<>"']/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
async function allAssets() {
  let items = [], cursor = null;
  do {
    const r = await fetch('/api/v1/assets?limit=1000' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    const j = await r.json(); items = items.concat(j.items); cursor = j.next_cursor;
  } while (cursor && items.length < 20000);
  return items;
}
async function refresh() {
  try {
    const assets = (await allAssets()).sort((a, b) => a.rul - b.rul);
    const counts = {normal: 0, warning: 0, critical: 0};
    assets.forEach(a => counts[a.severity]++);
    document.getElementById('counts').textContent =
      `${assets.length} engines · ${counts.critical} critical · ${counts.warning} warning · ${counts.normal} normal`;
    document.querySelector('#fleet tbody').innerHTML = assets.slice(0, 500).map(a =>
      `<tr><td>${esc(a.id)}</td><td>${a.last_cycle}</td><td>${fmt(a.rul)}</td><td>${fmt(a.rul_lo)}–${fmt(a.rul_hi)}</td>` +
      `<td style="text-align:left"><span class="band" style="margin-left:${Math.min(a.rul_lo, 200) / 2}px;width:${Math.max(2, Math.min(a.rul_hi - a.rul_lo, 200) / 2)}px"></span></td>` +
      `<td class="${a.severity}">${a.severity}</td></tr>`).join('');
    const alerts = (await (await fetch('/api/v1/alerts?limit=100')).json()).items;
    document.querySelector('#alerts tbody').innerHTML = alerts.map(a =>
      `<tr><td>${esc(a.id)}</td><td class="${a.severity}">${a.severity}</td><td class="${a.state}">${a.state}</td>` +
      `<td>${a.cycle}</td><td>${fmt(a.rul)}</td></tr>`).join('');
    document.getElementById('status').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) { document.getElementById('status').textContent = 'API unreachable: ' + e; }
}
refresh(); setInterval(refresh, 2000);
</script></body></html>
)HTML";
    return page;
}

}  // namespace turbotwin::app
