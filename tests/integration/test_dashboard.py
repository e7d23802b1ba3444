"""The dashboard (GET /) in a real headless Chromium, against the real server and a replayed
simulated fleet, with the network blocked except loopback.

The page is self-contained (no http(s):// reference at all); after its scripts ran, the fleet
table holds every engine id, most at risk first (checked against REST's numbers), the counts
by severity equal REST's, the alert feed lists REST's alerts newest first, and the per-engine
page (#/engine/ID) draws the RUL trend with its interval band in SVG and the sensor table. The
Removal forecast card draws one bar per week with its 5-95% whisker and lists the 5 engines most
likely to reach critical, all with GET /api/v1/fleet/forecast?days=90's numbers, and is not
fetched again by the 2 s poll.
Screenshots of both pages are written to the work folder (and copied to
$TURBOTWIN_DASHBOARD_SHOTS when set). Then, driving Chromium over the DevTools protocol
(--remote-debugging-pipe): the Acknowledge button shows the server's 401 and 403 messages, keeps
the token in localStorage across a reload, and with an operator token acknowledges the alert
with its comment, which REST then shows; posing as a desktop browser, the status line says
whether the SSE stream is live, and a new engine appears without a reload. Last, the same page behind a proxy that plays an older
server (no /api/v1/fleet, forecast, history or stream, no risk field, 404s) still shows every engine,
sorted by RUL, and the band.

Skips (77) when /usr/bin/chromium is missing: apt-get install chromium."""
import hashlib
import http.server
import json
import os
import re
import select
import socket
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request

from durability import make_fleet, wait_exactly_predict
from harness import SKIP, Stack, check, parse_args, run_test

CHROMIUM = "/usr/bin/chromium"
OPERATOR = "op-" + os.urandom(12).hex()
VIEWER = "view-" + os.urandom(12).hex()
LIVE = "ENG-LIVE-1"
LIVE_READING = json.dumps({"cycle": 1, "settings": {"altitude": 0, "mach": 0, "tra": 100},
                           "sensors": {"T24": 642.1, "T30": 1589.7, "T50": 1400.6, "P30": 554.36, "Nf": 2388.06, "Nc": 9046.19,
                                       "Ps30": 47.47, "phi": 521.66, "NRf": 2388.02, "NRc": 8138.62, "BPR": 8.4195,
                                       "htBleed": 392, "W31": 39.06, "W32": 23.419}}).encode()
# Everything but loopback fails: no DNS, and a dead proxy for any other address (Chromium
# always bypasses proxies for loopback).
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1", "--proxy-server=http://127.0.0.1:9"]


def browser_flags(st, profile):
    return [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage",
            f"--user-data-dir={st.path(profile)}", *OFFLINE]


def dump_dom(st, url, budget_ms=8000):
    """The DOM after the page's scripts ran for `budget_ms` of virtual time."""
    r = subprocess.run(browser_flags(st, "profile-dump") + [f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0 and "<html" in r.stdout, f"chromium --dump-dom {url} exited {r.returncode}: {r.stderr[-1500:]}")
    return r.stdout


def screenshot(st, url, name):
    path = st.path(name)
    r = subprocess.run(browser_flags(st, "profile-shot") + ["--virtual-time-budget=8000", "--window-size=1400,900",
                                                            f"--screenshot={path}", url],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0 and os.path.exists(path) and os.path.getsize(path) > 10000,
          f"no screenshot {path}: exit {r.returncode} {r.stderr[-800:]}")
    with open(path, "rb") as f:
        check(f.read(8) == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG")
    keep = os.environ.get("TURBOTWIN_DASHBOARD_SHOTS")
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(path, os.path.join(keep, name))
    return path


def section(dom, start, end):
    i = dom.find(start)
    check(i >= 0, f"{start!r} not in the page")
    j = dom.find(end, i)
    return dom[i:j if j >= 0 else len(dom)]


def risk_order_problem(shown, assets):
    """None if `shown` (ids in table order) is most-at-risk first by REST's numbers: by risk,
    highest first, when REST gives one for every engine, ties (and servers without risk) by RUL."""
    by_risk = all(isinstance(a.get("risk"), (int, float)) for a in assets.values())
    keys = [((-assets[i]["risk"]) if by_risk else 0, assets[i]["rul"]) for i in shown]
    for n, (a, b) in enumerate(zip(keys, keys[1:])):
        if a > b:
            return f"{shown[n]} {a} before {shown[n + 1]} {b} (by {'risk' if by_risk else 'RUL'})"
    return None


class Cdp:
    """A headless Chromium driven over the DevTools protocol on pipes (fd 3 in, fd 4 out,
    NUL-separated JSON): no websocket library needed. One page, one session."""

    def __init__(self, st):
        cmd_r, self.cmd_w = os.pipe()
        self.out_r, out_w = os.pipe()

        def child_fds():  # runs in the child before exec: the pipes become fds 3 and 4
            a, b = os.dup(cmd_r), os.dup(out_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        log = open(st.path("chromium-cdp.log"), "ab")
        self.proc = subprocess.Popen(browser_flags(st, "profile-cdp") + ["--remote-debugging-pipe", "about:blank"],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     close_fds=False, preexec_fn=child_fds)
        st.procs.append(self.proc)
        os.close(cmd_r)
        os.close(out_w)
        self.buf, self.next_id = b"", 0
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def call(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self.cmd_w, data):]
        deadline = time.time() + timeout
        while True:
            while b"\0" in self.buf:
                raw, _, self.buf = self.buf.partition(b"\0")
                m = json.loads(raw)
                if m.get("id") == self.next_id:
                    check("error" not in m, f"{method}: {m.get('error')}")
                    return m.get("result", {})
            left = deadline - time.time()
            check(left > 0 and self.proc.poll() is None, f"chromium gave no answer to {method}")
            if select.select([self.out_r], [], [], min(left, 1.0))[0]:
                chunk = os.read(self.out_r, 1 << 20)
                check(chunk, "chromium closed its DevTools pipe")
                self.buf += chunk

    def navigate(self, url):
        self.call("Page.navigate", {"url": url}, self.session)

    def js(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True}, self.session)
        check("exceptionDetails" not in r, f"page script failed: {expr[:120]}: {r.get('exceptionDetails')}")
        return r.get("result", {}).get("value")

    def wait_js(self, expr, what, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                v = self.js(expr)
            except AssertionError:  # the page is between documents (navigation)
                v = None
            if v:
                return v
            time.sleep(0.2)
        check(False, f"the page never showed {what} (waited {timeout} s for {expr[:160]})")

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except AssertionError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self.cmd_w)
        os.close(self.out_r)


class OldServerProxy:
    """Forwards to the real server as an older one would answer: /api/v1/fleet, history and
    stream 404, no `risk` field, `sort` ignored. The dashboard must still work."""

    GONE = re.compile(r"^/api/v1/(fleet|fleet/forecast|stream)(\?|$)|^/api/v1/assets/[^/?]+/history")

    def __init__(self, upstream):
        gone, strip = self.GONE, self._strip

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, status, body, ctype="application/json"):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _forward(self):
                if gone.search(self.path):
                    return self._answer(404, b'{"error":{"code":"not_found","message":"no such route"}}')
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                path = re.sub(r"([?&])sort=[^&]*&?", r"\1", self.path)
                req = urllib.request.Request(upstream + path, data=body, method=self.command, headers=headers)
                try:
                    with urllib.request.urlopen(req, timeout=10) as r:
                        status, data, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
                except urllib.error.HTTPError as e:
                    status, data, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
                if "json" in ctype:
                    data = json.dumps(strip(json.loads(data))).encode()
                self._answer(status, data, ctype)

            do_GET = do_POST = _forward

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def _strip(j):
        if isinstance(j, dict):
            return {k: OldServerProxy._strip(v) for k, v in j.items() if k != "risk"}
        if isinstance(j, list):
            return [OldServerProxy._strip(v) for v in j]
        return j

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def check_self_contained(html):
    """No absolute URL of any kind: scripts, styles, fonts and images all come with the page."""
    absolute = re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", html)
    check(not re.search(r"https?://", html) and not absolute, f"the page references outside URLs: {absolute[:5]}")
    check(not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", html, re.I) and "@import" not in html
          and not re.search(r"url\(", html), "the page loads a resource instead of carrying it")


def check_fleet_page(dom, assets, rest_alerts, label):
    """The fleet table and alert feed of a dumped DOM against REST (assets by id)."""
    table = section(dom, '<table id="fleet"', "</table>")
    shown = re.findall(r'<tr[^>]*data-engine-id="([^"]+)"', table)
    check(sorted(shown) == sorted(assets), f"{label}: table shows {len(shown)} engines {shown[:5]}..., REST has {len(assets)}")
    for i in shown:
        check(f">{i}</a>" in table, f"{label}: the id {i} is not shown as text")
    problem = risk_order_problem(shown, assets)
    check(problem is None, f"{label}: not most at risk first: {problem}")
    for sev in ("critical", "warning", "normal"):
        m = re.search(rf'data-count="{sev}"><b>(\d+)</b>', dom)
        want = sum(1 for a in assets.values() if a["severity"] == sev)
        check(m and int(m.group(1)) == want, f"{label}: {sev} count {m and m.group(1)} != REST {want}")
    for i, a in assets.items():
        row = re.search(rf'<tr[^>]*data-engine-id="{re.escape(i)}".*?</tr>', table).group(0)
        check(f"pill {a['severity']}" in row, f"{label}: {i} row lacks its severity colour {a['severity']}")
        if a.get("active_alert"):
            check(a["active_alert"] in row, f"{label}: {i} row lacks its active alert {a['active_alert']}")
        if a.get("confidence") == "low":
            check('class="low" title="' in row, f"{label}: {i} low confidence without its reason as a tooltip")
    feed = section(dom, '<ul id="feed"', "</ul>")
    listed = re.findall(r'data-alert-id="([^"]+)" data-state="([^"]+)"', feed)
    want = [(a["id"], a["state"]) for a in rest_alerts[:100]]
    check(listed == want, f"{label}: alert feed {listed[:4]}... != REST newest first {want[:4]}...")
    buttons = re.findall(r'data-ack="([^"]+)">Acknowledge<', feed)
    check(buttons == [i for i, s in want if s == "active"], f"{label}: Acknowledge buttons {buttons} not exactly on active alerts")
    status = section(dom, '<span id="status"', "<form")
    check("refreshed " in status and "refreshed never" not in status and "applied" in status and "broker" in status,
          f"{label}: status line {status[:300]}")
    return shown


def check_forecast_card(dom, forecast):
    """The Removal forecast card of a dumped DOM against GET /api/v1/fleet/forecast?days=90: one
    bar and one whisker per week carrying the API's mean and interval, bar heights in the order
    of the means, the total, and the 5 engines most likely to reach critical (ties: soonest, then id)."""
    card = section(dom, '<section class="card" id="forecastview"', "</section>")
    svg = re.search(r'<svg[^>]*id="forecast-chart".*?</svg>', card, re.S)
    check(svg, f"no forecast chart in the card: {card[:400]}")
    weeks = forecast["weeks"]
    bars = re.findall(r'<rect class="fc-bar" data-week="(\d+)" data-mean="([^"]*)"[^>]*? height="([-0-9.]+)"', svg.group(0))
    check(len(bars) == len(weeks), f"{len(bars)} bars for {len(weeks)} weeks")
    for (week, mean, _), w in zip(bars, weeks):
        check(int(week) == w["week"] and float(mean) == w["removals_mean"], f"bar week {week} mean {mean}, REST {w}")
    heights = [(float(m), float(h)) for _, m, h in bars]
    for (m1, h1) in heights:
        for (m2, h2) in heights:
            check(m1 <= m2 or h1 >= h2, f"a bar of mean {m1} is shorter ({h1}) than one of mean {m2} ({h2})")
    whiskers = re.findall(r'<path class="fc-whisker" data-week="(\d+)" data-lo="([^"]*)" data-hi="([^"]*)" d="M[-0-9.,VMh ]+"', svg.group(0))
    check(len(whiskers) == len(weeks), f"{len(whiskers)} whiskers for {len(weeks)} weeks")
    for (week, lo, hi), w in zip(whiskers, weeks):
        check(int(week) == w["week"] and float(lo) == w["removals_lo"] and float(hi) == w["removals_hi"], f"whisker {week} {lo}-{hi}, REST {w}")
    total = re.search(r'id="forecast-total" data-mean="([^"]*)" data-lo="([^"]*)" data-hi="([^"]*)"', card)
    check(total and [float(x) for x in total.groups()] == [forecast["removals"][k] for k in ("mean", "lo", "hi")],
          f"total {total and total.groups()}, REST {forecast['removals']}")
    want = sorted(forecast["engines"], key=lambda e: (-e["p_critical"], e["median_days_to_critical"], e["asset"]))[:5]
    rows = re.findall(r'<tr data-forecast-engine="([^"]+)" data-p="([^"]*)">.*?</td><td>([0-9.]+)%</td>', section(card, '<table id="forecast-top"', "</table>"))
    check([r[0] for r in rows] == [e["asset"] for e in want], f"top engines {[r[0] for r in rows]}, REST {[e['asset'] for e in want]}")
    for (asset, p, shown), e in zip(rows, want):
        check(float(p) == e["p_critical"] and abs(float(shown) - 100 * e["p_critical"]) <= 0.05 + 1e-9,
              f"{asset}: shows {shown}% (data-p {p}), REST p_critical {e['p_critical']}")
    return len(bars)


def stream_status(st):
    """The status GET /api/v1/stream answers with (read off a raw socket: the body never ends)."""
    with socket.create_connection(("127.0.0.1", st.http_port), timeout=10) as s:
        s.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        head = b""
        while b"\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
    return int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0


def history_points(st, engine, timeout=10):
    """The engine's history points from REST ([] when the server has no such route); waits a
    little for the store, which writes in batches."""
    deadline = time.time() + timeout
    while True:
        status, body, _ = st.get(f"/api/v1/assets/{engine}/history?max_points=200")
        if status != 200:
            return []
        points = json.loads(body).get("points") or []
        if points or time.time() > deadline:
            return points
        time.sleep(0.3)


def check_engine_page(dom, engine, label):
    svg = re.search(r'<svg[^>]*id="rul-chart".*?</svg>', dom, re.S)
    check(svg, f"{label}: no RUL chart SVG on the page of {engine}")
    check(re.search(r'<path class="rul-band" d="M[-0-9.,L ]+Z"', svg.group(0)), f"{label}: the RUL chart has no interval band")
    check('class="rul-line"' in svg.group(0), f"{label}: the RUL chart has no RUL line")
    check(f'data-engine-id="{engine}">{engine}<' in dom, f"{label}: the page does not name {engine}")
    sensors = re.findall(r'<tr data-sensor="([^"]+)">', section(dom, '<table id="sensors"', "</table>"))
    check(len(sensors) >= 5, f"{label}: sensor table rows {sensors}")
    return svg.group(0), sensors


def main():
    args = parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        print(f"SKIP: {CHROMIUM} is not installed (apt-get install chromium); the dashboard needs a real browser to test")
        raise SystemExit(SKIP)
    with Stack(args.bin, args.source) as st:
        fleet, _, predicted = make_fleet(st, 12, 5)
        env = dict(os.environ, TURBOTWIN_API_TOKENS=f"operator:{OPERATOR},viewer:{VIEWER}")
        st.start_serve(env=env)
        st.run("replay", fleet, "--broker", st.broker, "--speed", "max", "--quiet")
        problem = wait_exactly_predict(st, predicted)
        check(problem is None, problem)

        status, html, headers = st.get("/")
        check(status == 200 and headers.get("Content-Type", "").startswith("text/html"), f"GET / answered {status} {headers}")
        check_self_contained(html)
        print(f"GET /: {len(html)} bytes of HTML, no outside URL")

        assets = {a["id"]: a for a in st.all_assets()}
        rest_alerts = st.all_alerts()
        check(any(a["state"] == "active" for a in rest_alerts), "the fleet raised no active alert to test the feed with")
        dom = dump_dom(st, st.api + "/")
        shown = check_fleet_page(dom, assets, rest_alerts, "fleet page")
        status, models = st.get_json("/api/v1/models")
        m = re.search(r'data-model="active"><b>([^<]*)</b>', dom)
        check(status == 200 and m and m.group(1) == models["active"]["model"] and "no promotion or rollback yet" in dom,
              f"the Models card shows {m and m.group(1)}, REST {models.get('active')}")
        print(f"fleet page: {len(shown)} engines most at risk first ({shown[0]} ... {shown[-1]}), "
              f"{len(rest_alerts)} alerts newest first, counts equal REST")
        status, forecast = st.get_json("/api/v1/fleet/forecast?days=90")
        check(status == 200, f"forecast: {status}")
        bars = check_forecast_card(dom, forecast)
        print(f"removal forecast card: {bars} weekly bars with whiskers and the 5 engines most likely to reach critical, as REST")

        top = shown[0]
        points = history_points(st, top)
        edom = dump_dom(st, f"{st.api}/#/engine/{top}")
        svg, sensors = check_engine_page(edom, top, "engine page")
        if points:  # the route is there: the page draws its points, every sensor's levels too
            check(f"history route, {len(points)} points" in edom, f"the page does not draw the {len(points)} history points")
            band = re.search(r'<path class="rul-band" d="([^"]+)"', svg).group(1)
            check(band.count("L") + 1 == 2 * len(points), f"the band has {band.count('L') + 1} vertices for {len(points)} points")
            names = {k for p in points for k in (p.get("sensors") or {})}
            charts = edom.count('class="sensor-chart"')
            check(charts == len(names), f"{charts} sensor charts for {sorted(names)}")
            source = f"the history route, {len(points)} points"
        else:
            check("point(s) seen since this page opened" in edom, "without history the page does not say where its trend comes from")
            source = "the points seen: no history route on this server"
        charts = edom.count('class="sensor-chart"')
        print(f"engine page {top}: RUL chart with band (from {source}), {charts} sensor charts, {len(sensors)} sensors in the table")

        shots = [screenshot(st, st.api + "/", "dashboard.png"), screenshot(st, f"{st.api}/#/engine/{top}", "dashboard-engine.png")]
        print("screenshots: " + ", ".join(shots))

        # The Acknowledge button, driven like an operator would.
        active = [a["id"] for a in rest_alerts if a["state"] == "active"]
        target = active[0]
        messages = {}
        for code, token in ((401, None), (403, VIEWER)):
            s, body, _ = st.get(f"/api/v1/alerts/{target}/ack", "POST", token=token, body={"comment": "probe"})
            check(s == code, f"REST ack with {'no' if token is None else 'a viewer'} token: {s}")
            messages[code] = json.loads(body)["error"]["message"]
        cdp = Cdp(st)
        try:
            # As a desktop browser: the page then also listens to the stream (headless ones only poll).
            ua = cdp.js("navigator.userAgent").replace("HeadlessChrome", "Chrome")
            cdp.call("Emulation.setUserAgentOverride", {"userAgent": ua}, cdp.session)
            cdp.navigate(st.api + "/")
            sel = json.dumps(f'button[data-ack="{target}"]')
            cdp.wait_js(f"!!document.querySelector({sel})", f"an Acknowledge button on {target}")
            result = json.dumps(f'[data-ack-result="{target}"]')

            def press(comment):
                cdp.js(f"""(() => {{ const i = document.querySelector('[data-comment="{target}"]');
                          i.value = {json.dumps(comment)}; i.dispatchEvent(new Event('input', {{bubbles: true}}));
                          document.querySelector({sel}).click(); }})()""")

            def set_token(tok):
                cdp.js(f"""(() => {{ document.querySelector('#token').value = {json.dumps(tok)};
                          document.querySelector('#tokform').requestSubmit(); }})()""")

            press("no token yet")
            text = cdp.wait_js(f"(e => e && /401/.test(e.textContent) && e.textContent)(document.querySelector({result}))", "the 401")
            check(messages[401] in text, f"401 shown as {text!r}, the server said {messages[401]!r}")
            set_token(VIEWER)
            check(cdp.js("localStorage.getItem('turbotwin.token')") == VIEWER, "the token was not kept in localStorage")
            press("viewer tries")
            text = cdp.wait_js(f"(e => e && /403/.test(e.textContent) && e.textContent)(document.querySelector({result}))", "the 403")
            check(messages[403] in text, f"403 shown as {text!r}, the server said {messages[403]!r}")
            print(f"Acknowledge shows the server's messages: 401 {messages[401]!r}, 403 {messages[403]!r}")

            cdp.navigate(st.api + "/")  # the token survives a reload
            cdp.wait_js(f"!!document.querySelector({sel})", "the Acknowledge button after a reload")
            check(cdp.js("document.querySelector('#tokstate').textContent") == "token saved", "the token was forgotten on reload")
            set_token(OPERATOR)  # a new token also refreshes the forecast: count after it
            # Count requests from here on: the forecast has its own slow timer, the poll does not fetch it.
            cdp.js("""(() => { window.requests = {forecast: 0, alerts: 0}; const f = window.fetch;
                      window.fetch = (u, o) => { const s = String(u);
                        if (s.includes('/api/v1/fleet/forecast')) window.requests.forecast++;
                        else if (s.startsWith('/api/v1/alerts?')) window.requests.alerts++;
                        return f(u, o); }; })()""")
            counting_since = time.time()
            comment = "borescope booked from the dashboard"
            press(comment)
            li = json.dumps(f'li[data-alert-id="{target}"][data-state="acknowledged"]')
            text = cdp.wait_js(f"(e => e && e.textContent)(document.querySelector({li}))", f"{target} acknowledged in the feed")
            operator_name = "operator-" + hashlib.sha256(OPERATOR.encode()).hexdigest()[:8]
            check(operator_name in text and comment in text, f"feed entry after the ack: {text!r}")
            check(not cdp.js(f"!!document.querySelector({sel})"), "an acknowledged alert still has its button")

            # Live: a new engine shows up by itself; the status line says whether the stream is on.
            stream = stream_status(st)
            want = "live (stream)" if stream == 200 else "(no stream)"
            cdp.wait_js(f"document.querySelector('#status').textContent.includes({json.dumps(want)})", f"{want!r} in the status line")
            st.publish(f"turbotwin/v1/engines/{LIVE}/telemetry", LIVE_READING)
            cdp.wait_js(f"!!document.querySelector('tr[data-engine-id=\"{LIVE}\"]')", f"the new engine {LIVE} in the table", timeout=10)
            print(f"live: GET /api/v1/stream answered {stream}, status line says {want!r}; a new engine appeared without a reload")
            cdp.wait_js("window.requests.alerts >= 2", "two polls while counting requests")
            counted, seconds = cdp.js("window.requests"), time.time() - counting_since
            if seconds < 29:  # the card refreshes every 30 s
                check(counted["forecast"] == 0, f"the forecast was fetched {counted['forecast']} times in {seconds:.1f} s of polling")
            print(f"requests over {seconds:.1f} s: {counted['alerts']} alert polls, {counted['forecast']} forecast fetches")
        finally:
            cdp.close()
        s, body = st.get_json(f"/api/v1/alerts/{target}")
        check(s == 200 and body["state"] == "acknowledged" and body["acknowledged"]["comment"] == comment
              and body["acknowledged"]["by"] == operator_name, f"REST after the dashboard's ack: {body}")
        print(f"Acknowledge as operator: {target} acknowledged by {operator_name} with the comment, on REST too")

        # An older server: the page shows what there is.
        proxy = OldServerProxy(st.api)
        try:
            assets = {a["id"]: a for a in st.all_assets()}
            rest_alerts = st.all_alerts()
            dom = dump_dom(st, proxy.url + "/")
            shown = check_fleet_page(dom, {i: {k: v for k, v in a.items() if k != "risk"} for i, a in assets.items()},
                                     rest_alerts, "older server")
            check("not served yet: " in dom and "/api/v1/fleet" in section(dom, '<span id="notes"', "</span>"),
                  "the missing fleet route is not mentioned")
            edom = dump_dom(st, f"{proxy.url}/#/engine/{shown[0]}")
            check_engine_page(edom, shown[0], "older server, engine page")
            check("the history route is not served yet" in edom, "the engine page does not say where its trend comes from")
            card = section(dom, '<div id="forecast"', "</section>")
            check("not available from this server" in card and "/api/v1/fleet/forecast" in section(dom, '<span id="notes"', "</span>"),
                  f"the missing forecast route is not shown as such: {card[:200]}")
        finally:
            proxy.close()
        print(f"older server (404 on fleet/forecast/history/stream, no risk): {len(shown)} engines by RUL, alerts, engine page with band, "
              "the forecast card says it is not available")
        check(st.stop_serve() == 0, "serve did not exit 0")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    run_test(main)
