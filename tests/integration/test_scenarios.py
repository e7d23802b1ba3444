"""The planning routes against a real server and a replayed simulated fleet (half the engines cut
short, so mid-life): GET /api/v1/fleet/forecast, POST /api/v1/scenarios, GET /api/v1/fleet/plan
(docs/scenarios.md).

Forecast: p_critical is monotone in the horizon and in utilisation, an override moves only its
engine, the weekly means add up to the total, the same seed gives the same answer, a horizon
of one day at almost no flying gives back each asset's own `risk`, and the CSV tables have a
header and one row per engine or week with the JSON's numbers. Scenarios: more flying and a
deferred visit raise that engine's risk and leave the others exactly as they were, a swap
exchanges utilisations, nothing live changes (every asset's body and ETag equal before and
after), bad bodies are 400 naming the key, unknown engines 404. Plan: the optimal schedule keeps
within the shop's capacity and has no more expected failures than the threshold plan. Access:
with API tokens and http.require_auth_for_reads, a viewer may POST a scenario and read the
forecast, no token may not; the forecast is the same after the restart (the distributions come
back from the store)."""
import csv
import io
import json
import math
import os
import urllib.error
import urllib.request

from durability import make_fleet, wait_exactly_predict
from harness import Stack, check, parse_args, run_test

OPERATOR = "op-" + os.urandom(12).hex()
VIEWER = "view-" + os.urandom(12).hex()


def get_json(st, path, token=None):
    status, body, headers = st.get(path, token=token)
    check(status == 200, f"GET {path}: {status} {body[:300]}")
    check(headers.get("Content-Type", "").startswith("application/json"), f"GET {path}: {headers.get('Content-Type')}")
    return json.loads(body)


def error_of(st, path, method="GET", body=None, token=None, raw=None):
    """(status, error message) of a request expected to fail."""
    if raw is not None:  # a body that is not JSON at all
        req = urllib.request.Request(st.api + path, data=raw, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
    else:
        status, text, _ = st.get(path, method, token=token, body=body)
    try:
        return status, json.loads(text)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return status, text


def scenario(st, body, token=None):
    status, text, headers = st.get("/api/v1/scenarios", "POST", token=token, body=body)
    check(status == 200, f"POST /api/v1/scenarios {json.dumps(body)[:300]}: {status} {text[:300]}")
    return json.loads(text)


def by_asset(items):
    return {e["asset"]: e for e in items}


def live_state(st):
    """Every asset's body and ETag, and the fleet's alerts: what a scenario must not change."""
    out = {}
    for a in st.all_assets():
        status, body, headers = st.get(f"/api/v1/assets/{a['id']}")
        check(status == 200, f"asset {a['id']}: {status}")
        out[a["id"]] = (body, headers.get("ETag"))
    return out, json.dumps(st.all_alerts(), sort_keys=True)


def check_forecast(st, ids, assets):
    q = "/api/v1/fleet/forecast"
    f90 = get_json(st, f"{q}?days=90")
    check(sorted(e["asset"] for e in f90["engines"]) == ids, f"forecast engines {[e['asset'] for e in f90['engines']]} != {ids}")
    p = [e["p_critical"] for e in f90["engines"]]
    check(p == sorted(p, reverse=True), f"forecast engines not most at risk first: {p}")
    check(len(f90["weeks"]) == math.ceil(90 / 7) and [w["week"] for w in f90["weeks"]] == list(range(len(f90["weeks"]))),
          f"weeks: {[w['week'] for w in f90['weeks']]}")
    check(f90["weeks"][-1]["to_day"] == 90, f"the last week ends at {f90['weeks'][-1]['to_day']}, not the horizon")
    for label, f in (("4/day", f90), ("0.5/day", get_json(st, f"{q}?days=90&cycles_per_day=0.5"))):
        weekly = sum(w["removals_mean"] for w in f["weeks"])
        check(abs(weekly - f["removals"]["mean"]) <= 1e-9 * max(1, weekly),
              f"{label}: weekly means add up to {weekly}, removals.mean is {f['removals']['mean']}")
        for w in f["weeks"]:
            check(0 <= w["removals_lo"] <= w["removals_hi"] <= len(ids), f"{label}: week interval: {w}")
        check(f["removals"]["lo"] <= f["removals"]["hi"], f"{label}: total interval: {f['removals']}")
        expected = sum(e["p_critical"] for e in f["engines"])  # what the Monte Carlo mean estimates
        check(abs(f["removals"]["mean"] - expected) <= 0.15 + 0.05 * expected,
              f"{label}: removals.mean {f['removals']['mean']} far from the sum of p_critical {expected}")
        print(f"forecast 90 days at {label}: {len(f['weeks'])} weeks summing to removals.mean {f['removals']['mean']:.3f} "
              f"(90% {f['removals']['lo']}-{f['removals']['hi']}), exact sum of p_critical {expected:.3f}")

    # Monotone in the horizon and in utilisation. Half a cycle a day: at 4 the simulated engines
    # (RUL 0..120 cycles) all reach critical within any horizon, and every probability is 1.
    p30 = by_asset(get_json(st, f"{q}?days=30&cycles_per_day=0.5")["engines"])
    p180 = by_asset(get_json(st, f"{q}?days=180&cycles_per_day=0.5")["engines"])
    slow = by_asset(get_json(st, f"{q}?days=60&cycles_per_day=0.5")["engines"])
    fast = by_asset(get_json(st, f"{q}?days=60&cycles_per_day=1.5")["engines"])
    for i in ids:
        check(p30[i]["p_critical"] <= p180[i]["p_critical"], f"{i}: p_critical 30 days {p30[i]['p_critical']} > 180 days {p180[i]['p_critical']}")
        check(slow[i]["p_critical"] <= fast[i]["p_critical"], f"{i}: p_critical at 0.5/day {slow[i]['p_critical']} > at 1.5/day {fast[i]['p_critical']}")
        check(fast[i]["cycles_per_day"] == 1.5, f"{i}: cycles_per_day {fast[i]['cycles_per_day']}")
    in_days = [i for i in ids if p180[i]["p_critical"] > p30[i]["p_critical"]]
    in_rate = [i for i in ids if fast[i]["p_critical"] > slow[i]["p_critical"]]
    check(in_days and in_rate, f"p_critical grows with days for {in_days}, with utilisation for {in_rate}: a parameter is not used")
    print(f"monotone for all {len(ids)} engines: 30 <= 180 days ({len(in_days)} strictly), 0.5 <= 1.5 cycles/day ({len(in_rate)} strictly)")

    # An override moves its engine only (the one furthest from 0 and 1 at 0.5 a day).
    mid = min(ids, key=lambda i: abs(p180[i]["p_critical"] - 0.5))
    over = by_asset(get_json(st, f"{q}?days=180&cycles_per_day=0.5&overrides={mid}:1")["engines"])
    check(over[mid]["cycles_per_day"] == 1 and over[mid]["p_critical"] > p180[mid]["p_critical"], f"override {mid}: {over[mid]} vs {p180[mid]}")
    for i in ids:
        if i != mid:
            check(over[i] == p180[i], f"an override of {mid} changed {i}: {over[i]} vs {p180[i]}")
    print(f"override {mid}:1 -> p_critical {p180[mid]['p_critical']:.3f} -> {over[mid]['p_critical']:.3f}, others unchanged")
    base = by_asset(f90["engines"])

    # Seeded: the same request gives the same body (and ETag); a 304 on If-None-Match.
    s1, b1, h1 = st.get(f"{q}?days=90&seed=7&samples=500")
    s2, b2, h2 = st.get(f"{q}?days=90&seed=7&samples=500")
    check(s1 == s2 == 200 and b1 == b2 and h1.get("ETag") and h1.get("ETag") == h2.get("ETag"), "the same seed gave another forecast")
    check(json.loads(b1)["samples"] == 500 and json.loads(b1)["seed"] == 7, f"samples/seed not echoed: {b1[:200]}")

    # One day at almost no flying: P(RUL <= critical_rul + 0.01) is the asset's own risk (P(RUL <= critical_rul)).
    tiny = by_asset(get_json(st, f"{q}?days=1&cycles_per_day=0.01")["engines"])
    for i in ids:
        check(abs(tiny[i]["p_critical"] - assets[i]["risk"]) <= 0.01, f"{i}: forecast at 0 days {tiny[i]['p_critical']} != risk {assets[i]['risk']}")
        check(tiny[i]["rul"] == assets[i]["rul"], f"{i}: forecast rul {tiny[i]['rul']} != asset rul {assets[i]['rul']}")
    print("forecast at a zero horizon equals each asset's risk: the routes see the twins' own distributions")

    # CSV: a header and one row per engine / per week, the JSON's numbers.
    status, text, headers = st.get(f"{q}?days=90&format=csv")
    check(status == 200 and headers.get("Content-Type", "").startswith("text/csv"), f"csv: {status} {headers.get('Content-Type')}")
    rows = list(csv.reader(io.StringIO(text)))
    check(rows[0] == ["asset", "cycles_per_day", "rul", "p_critical", "median_days_to_critical"], f"csv header {rows[0]}")
    check(sorted(r[0] for r in rows[1:]) == ids and all(len(r) == 5 for r in rows[1:]), f"csv rows {rows[1:3]}... for {len(ids)} engines")
    for r in rows[1:]:
        e = base[r[0]]
        for k, v in zip(rows[0][1:], r[1:]):
            check(math.isclose(float(v), e[k], rel_tol=1e-9, abs_tol=1e-12), f"csv {r[0]} {k}={v}, JSON {e[k]}")
    status, text, _ = st.get(f"{q}?days=90&format=csv&table=weeks")
    rows = list(csv.reader(io.StringIO(text)))
    check(status == 200 and rows[0] == ["week", "from_day", "to_day", "removals_mean", "removals_lo", "removals_hi"]
          and len(rows) == 1 + len(f90["weeks"]), f"csv weeks: {status} {rows[:2]} ({len(rows)} lines)")
    for r, w in zip(rows[1:], f90["weeks"]):
        check(int(r[0]) == w["week"] and math.isclose(float(r[3]), w["removals_mean"], rel_tol=1e-9, abs_tol=1e-12), f"csv week {r} vs {w}")
    print(f"csv: header + {len(ids)} engine rows, header + {len(f90['weeks'])} week rows, equal to the JSON")

    # Errors name what is wrong.
    for query, status, word in (("days=0", 400, "days"), ("days=abc", 400, "days"), ("cycles_per_day=0", 400, "cycles_per_day"),
                                ("samples=2.5", 400, "samples"), ("samples=0", 400, "samples"), ("seed=-1", 400, "seed"),
                                ("format=xml", 400, "format"), ("table=x", 400, "table"), (f"overrides={mid}", 400, mid),
                                (f"overrides={mid}:-1", 400, mid), ("overrides=NO-SUCH-ENGINE:5", 404, "NO-SUCH-ENGINE")):
        s, msg = error_of(st, f"{q}?{query}")
        check(s == status and word in msg, f"forecast?{query}: {s} {msg!r}, expected {status} naming {word}")
    print("forecast errors: 400 naming days, cycles_per_day, samples, seed, format, table, a bad override; 404 for an unknown engine")
    return f90


def check_scenarios(st, ids, assets):
    before = live_state(st)
    rul = {i: assets[i]["rul"] for i in ids}
    # Each engine's visit where its point RUL runs out at 4 cycles a day, a little early: risks in
    # the middle of (0, 1), where a change can show.
    visits = {i: max(1.0, 0.8 * rul[i] / 4) for i in ids}
    live = sorted((i for i in ids if rul[i] > 40), key=lambda i: rul[i])
    check(len(live) >= 3, f"too few engines with RUL > 40 to test scenarios: {rul}")
    a, b, c = live[0], live[len(live) // 2], live[-1]
    baseline = {"cycles_per_day": 4, "engines": {i: {"visit_in_days": visits[i]} for i in ids}}
    baseline["engines"][a]["cycles_per_day"] = 6
    baseline["engines"][b]["cycles_per_day"] = 2

    def run(changes, **extra):
        r = scenario(st, {"baseline": baseline, "changes": changes, "horizon_days": 365, **extra})
        engines = by_asset(r["engines"])
        check(sorted(engines) == ids, f"scenario engines {sorted(engines)}")
        for side in ("baseline", "scenario"):
            total = sum(e[side]["risk"] for e in r["engines"])
            check(math.isclose(total, r["expected_failures"][side], rel_tol=1e-9, abs_tol=1e-12),
                  f"expected_failures.{side} {r['expected_failures'][side]} != sum of risks {total}")
        check(math.isclose(r["expected_failures"]["change"], r["expected_failures"]["scenario"] - r["expected_failures"]["baseline"],
                           abs_tol=1e-12), f"expected_failures.change: {r['expected_failures']}")
        risks = [e["scenario"]["risk"] for e in r["engines"]]
        check(risks == sorted(risks, reverse=True), "scenario engines not highest risk first")
        return r, engines

    def untouched(engines, changed):
        for i, e in engines.items():
            if i in changed:
                check(e["changed"], f"{i} was changed but says changed=false")
            else:
                check(not e["changed"] and e["scenario"] == e["baseline"] and e["risk_change"] == 0, f"{i} moved without a change: {e}")

    r, e = run([])
    check(r["engines_changed"] == 0 and r["expected_failures"]["change"] == 0, f"an empty scenario changed something: {r['expected_failures']}")
    check(e[a]["baseline"]["cycles_per_day"] == 6 and e[b]["baseline"]["cycles_per_day"] == 2 and e[c]["baseline"]["cycles_per_day"] == 4,
          f"baseline utilisations: {e[a]['baseline']} {e[b]['baseline']} {e[c]['baseline']}")
    check(math.isclose(e[c]["baseline"]["visit_in_days"], visits[c]) and math.isclose(e[c]["baseline"]["cycles_to_visit"], visits[c] * 4),
          f"baseline visit of {c}: {e[c]['baseline']}")
    check(0 < e[c]["baseline"]["risk"] < 1, f"{c}'s baseline risk {e[c]['baseline']['risk']} leaves nothing to move")

    r, e = run([{"type": "utilisation", "asset": c, "cycles_per_day": 8}])
    check(e[c]["scenario"]["cycles_per_day"] == 8 and e[c]["scenario"]["risk"] > e[c]["baseline"]["risk"] and e[c]["risk_change"] > 0,
          f"flying {c} at 8/day did not raise its risk: {e[c]}")
    check(r["engines_changed"] == 1 and r["expected_failures"]["change"] > 0, f"utilisation: {r['expected_failures']}")
    untouched(e, {c})
    print(f"utilisation {c} 4 -> 8 cycles/day: risk {e[c]['baseline']['risk']:.3f} -> {e[c]['scenario']['risk']:.3f}, 11 others unchanged")

    r, e = run([{"type": "defer_visit", "asset": c, "cycles": 20}])
    check(math.isclose(e[c]["scenario"]["visit_in_days"], visits[c] + 20 / 4) and
          math.isclose(e[c]["scenario"]["cycles_to_visit"], e[c]["baseline"]["cycles_to_visit"] + 20), f"defer 20 cycles: {e[c]}")
    check(e[c]["scenario"]["risk"] > e[c]["baseline"]["risk"], f"deferring {c}'s visit did not raise its risk: {e[c]}")
    untouched(e, {c})
    r, e = run([{"type": "defer_visit", "asset": c, "days": 10}])
    check(math.isclose(e[c]["scenario"]["visit_in_days"], visits[c] + 10) and e[c]["scenario"]["risk"] >= e[c]["baseline"]["risk"],
          f"defer 10 days: {e[c]}")
    print(f"defer_visit {c} by 20 cycles: risk {e[c]['baseline']['risk']:.3f} -> higher; by 10 days too")

    r, e = run([{"type": "swap", "assets": [a, b]}])
    check(e[a]["scenario"]["cycles_per_day"] == 2 and e[b]["scenario"]["cycles_per_day"] == 6, f"swap: {e[a]['scenario']} {e[b]['scenario']}")
    check(e[a]["scenario"]["visit_in_days"] == e[a]["baseline"]["visit_in_days"] and
          e[b]["scenario"]["visit_in_days"] == e[b]["baseline"]["visit_in_days"], "swap moved a visit")
    check(e[a]["scenario"]["risk"] <= e[a]["baseline"]["risk"] and e[b]["scenario"]["risk"] >= e[b]["baseline"]["risk"],
          f"swap: {a} now flies less, {b} more: {e[a]} {e[b]}")
    untouched(e, {a, b})
    print(f"swap {a} (6/day) <-> {b} (2/day): utilisations exchanged, visits kept")

    r, e = run([{"type": "fleet_plan", "cycles_per_day": 5, "visit_in_days": 30}, {"type": "utilisation", "asset": a, "cycles_per_day": 1}])
    check(r["engines_changed"] == len(ids) and all(x["scenario"]["visit_in_days"] == 30 for x in e.values()), "fleet_plan")
    check(e[a]["scenario"]["cycles_per_day"] == 1 and all(e[i]["scenario"]["cycles_per_day"] == 5 for i in ids if i != a),
          "changes do not apply in order")

    # Bad bodies: 400 naming the key; unknown engines 404.
    path = "/api/v1/scenarios"
    bad = [
        ({"baselin": {}}, 400, "baselin"),
        ({"horizon_days": "x"}, 400, "horizon_days"),
        ({"horizon_days": 0}, 400, "horizon_days"),
        ({"baseline": {"cycles_per_day": 0}}, 400, "cycles_per_day"),
        ({"baseline": {"engines": {a: {"cycle_per_day": 3}}}}, 400, "cycle_per_day"),
        ({"baseline": {"engines": [a]}}, 400, "engines"),
        ({"changes": {}}, 400, "changes"),
        ({"changes": [{"asset": a}]}, 400, "type"),
        ({"changes": [{"type": "teleport", "asset": a}]}, 400, "teleport"),
        ({"changes": [{"type": "utilisation", "asset": a}]}, 400, "cycles_per_day"),
        ({"changes": [{"type": "utilisation", "asset": a, "cycles_per_dya": 8}]}, 400, "cycles_per_dya"),
        ({"changes": [{"type": "utilisation", "asset": a, "cycles_per_day": -1}]}, 400, "cycles_per_day"),
        ({"changes": [{"type": "utilisation", "cycles_per_day": 8}]}, 400, "asset"),
        ({"changes": [{"type": "defer_visit", "asset": a, "cycle": 20}]}, 400, "cycle"),
        ({"changes": [{"type": "defer_visit", "asset": a, "cycles": 20}]}, 400, "no planned visit"),
        ({"changes": [{"type": "swap", "assets": [a]}]}, 400, "assets"),
        ({"changes": [{"type": "swap", "assets": [a, a]}]}, 400, "two different"),
        ({"changes": [{"type": "fleet_plan"}]}, 400, "cycles_per_day"),
        ([1, 2], 400, "object"),
        ({"changes": [{"type": "utilisation", "asset": "NO-SUCH-ENGINE", "cycles_per_day": 5}]}, 404, "NO-SUCH-ENGINE"),
        ({"changes": [{"type": "swap", "assets": [a, "NO-SUCH-ENGINE"]}]}, 404, "NO-SUCH-ENGINE"),
        ({"baseline": {"engines": {"NO-SUCH-ENGINE": {"visit_in_days": 3}}}}, 404, "NO-SUCH-ENGINE"),
    ]
    for body, status, word in bad:
        s, msg = error_of(st, path, "POST", body=body)
        check(s == status and word in msg, f"POST {json.dumps(body)}: {s} {msg!r}, expected {status} naming {word!r}")
    s, msg = error_of(st, path, "POST", raw=b'{"changes": [')
    check(s == 400, f"a truncated body: {s} {msg}")
    s, _, headers = st.get(path)
    check(s == 405 and "POST" in headers.get("Allow", ""), f"GET {path}: {s} Allow {headers.get('Allow')}")
    print(f"scenario errors: {len(bad) - 3} bodies 400 naming the key or change, 3 unknown engines 404, truncated JSON 400, GET 405")

    after = live_state(st)
    check(after[1] == before[1], "a scenario changed the alerts")
    for i in ids:
        check(after[0][i] == before[0][i], f"a scenario changed the live state of {i}: ETag {before[0][i][1]} -> {after[0][i][1]}")
    print(f"live state untouched: {len(ids)} assets (body and ETag) and the alerts equal before and after")


def check_plan(st, ids):
    q = "/api/v1/fleet/plan"
    for capacity, weeks, mrr in ((2, 26, None), (1, 4, None), (1, 8, 0), (0, 13, None)):
        query = f"capacity={capacity}&weeks={weeks}&cycles_per_day=4" + ("" if mrr is None else f"&min_risk_reduction={mrr}")
        p = get_json(st, f"{q}?{query}")
        price = p["min_risk_reduction"]
        check(p["capacity_per_week"] == capacity and p["weeks"] == weeks and price == (0.01 if mrr is None else mrr), f"plan echo: {p}")
        for name in ("optimal", "threshold"):
            s = p[name]
            removed = [r["asset"] for r in s["removals"]]
            check(len(removed) == len(set(removed)) == s["removal_count"], f"{name}: an engine removed twice: {removed}")
            check(sorted(removed + s["kept"]) == ids, f"{name}: removals + kept {sorted(removed + s['kept'])} != the fleet")
            per_week = {}
            for r in s["removals"]:
                check(0 <= r["week"] < weeks, f"{name}: removal outside the horizon: {r}")
                check(r["risk"] <= r["risk_if_kept"] + 1e-12, f"{name}: a removal that raises the risk: {r}")
                per_week[r["week"]] = per_week.get(r["week"], 0) + 1
            check(all(n <= capacity for n in per_week.values()), f"{name} over capacity {capacity}: {per_week}")
        opt, thr = p["optimal"], p["threshold"]
        # The optimum minimises failures + price x removals; with no price, failures alone.
        check(opt["expected_failures"] + price * opt["removal_count"] <= thr["expected_failures"] + price * thr["removal_count"] + 1e-9,
              f"capacity {capacity}, {weeks} weeks: optimal {opt['expected_failures']} (+{opt['removal_count']} removals) worse than "
              f"threshold {thr['expected_failures']} (+{thr['removal_count']})")
        if price == 0:
            check(opt["expected_failures"] <= thr["expected_failures"] + 1e-9, f"no price: optimal {opt['expected_failures']} > threshold")
        if capacity == 0:
            check(not opt["removals"] and not thr["removals"] and math.isclose(opt["expected_failures"], thr["expected_failures"]),
                  f"capacity 0: {opt} {thr}")
        print(f"plan capacity {capacity}/week, {weeks} weeks, price {price}: optimal {opt['expected_failures']:.3f} expected failures "
              f"({opt['removal_count']} removals), threshold {thr['expected_failures']:.3f} ({thr['removal_count']})")
    for query, status, word in (("capacity=1.5", 400, "capacity"), ("weeks=0", 400, "weeks"), ("min_risk_reduction=1", 400, "min_risk_reduction"),
                                ("cycles_per_day=-2", 400, "cycles_per_day"), ("overrides=NO-SUCH-ENGINE:3", 404, "NO-SUCH-ENGINE")):
        s, msg = error_of(st, f"{q}?{query}")
        check(s == status and word in msg, f"plan?{query}: {s} {msg!r}, expected {status} naming {word}")
    print("plan errors: 400 naming capacity, weeks, min_risk_reduction, cycles_per_day; 404 for an unknown engine")


def main():
    args = parse_args()
    with Stack(args.bin, args.source) as st:
        fleet, _, predicted = make_fleet(st, 12, 5)
        env = dict(os.environ, TURBOTWIN_API_TOKENS=f"operator:{OPERATOR},viewer:{VIEWER}")
        st.start_serve(env=env)
        st.run("replay", fleet, "--broker", st.broker, "--speed", "max", "--quiet")
        problem = wait_exactly_predict(st, predicted)
        check(problem is None, problem)
        assets = {a["id"]: a for a in st.all_assets()}
        ids = sorted(assets)
        check(ids == sorted(predicted), f"assets {ids}")

        f90 = check_forecast(st, ids, assets)
        check_scenarios(st, ids, assets)
        check_plan(st, ids)

        # Tokens on and reads behind them: a viewer may ask a scenario (it changes nothing).
        check(st.stop_serve() == 0, "serve did not exit 0")
        config = st.serve_config("auth.json")
        with open(config) as f:
            cfg = json.load(f)
        cfg.setdefault("http", {})["require_auth_for_reads"] = True
        with open(config, "w") as f:
            json.dump(cfg, f)
        st.start_serve("--config", config, env=env)
        st.wait_ready()
        body = {"baseline": {"visit_in_days": 30}, "changes": [{"type": "defer_visit", "asset": ids[0], "days": 5}]}
        s, msg = error_of(st, "/api/v1/scenarios", "POST", body=body)
        check(s == 401, f"a scenario without a token: {s} {msg}")
        s, msg = error_of(st, "/api/v1/scenarios", "POST", body=body, token="not-a-known-token-at-all")
        check(s == 401, f"a scenario with an unknown token: {s} {msg}")
        for token in (VIEWER, OPERATOR):
            r = scenario(st, body, token=token)
            check(r["engines_changed"] == 1, f"scenario as {token[:4]}: {r['engines_changed']} engines changed")
        for route in ("/api/v1/fleet/forecast?days=90", "/api/v1/fleet/plan"):
            s, _ = error_of(st, route)
            check(s == 401, f"GET {route} without a token: {s}")
        again = get_json(st, "/api/v1/fleet/forecast?days=90", token=VIEWER)
        check(again == f90, "the forecast differs after a restart: the twins' distributions did not come back from the store")
        get_json(st, "/api/v1/fleet/plan", token=VIEWER)
        print("auth for reads: no token 401; viewer and operator may POST a scenario and read forecast and plan; "
              "the forecast is the same after the restart")
        check(st.stop_serve() == 0, "serve did not exit 0")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    run_test(main)
