"""SIGTERM and restart; restart while the broker is down; alerts the broker never acknowledged.

1. After a replay, SIGTERM exits 0; a restart shows the very same fleet and alerts on REST at
   once (restored from the SQLite store, nothing left in the journal to re-apply).
2. Alert outbox: serve is killed before its store committed anything, the broker is stopped, and
   serve starts again with the broker down: it rebuilds the fleet from the journal (REST is
   current without a broker) and raises the alerts again while offline. SIGTERM then stores
   them as not acknowledged; the next start, with the broker back, publishes them, and a
   persistent consumer receives every alert change. Once acknowledged, they are not sent again.
"""
import time

from durability import alert_changes_from_rest, alerts_by_id, make_fleet, wait_exactly_predict, wait_mqtt_alerts
from harness import Stack, check, parse_args, run_test


def restart_keeps_state(args):
    with Stack(args.bin, args.source) as st:
        fleet, rows, predicted = make_fleet(st, 12, 31)
        st.start_serve()
        st.run("replay", fleet, "--broker", st.broker, "--speed", "max", "--quiet")
        problem = wait_exactly_predict(st, predicted)
        check(problem is None, problem)
        assets = st.all_assets()
        details = {a["id"]: st.get_json(f"/api/v1/assets/{a['id']}")[1] for a in assets}
        alerts = alerts_by_id(st.all_alerts())
        check(len(alerts) > 0, "no alert raised")

        t0 = time.time()
        check(st.stop_serve() == 0, "serve did not exit 0 on SIGTERM")
        stop_s = time.time() - t0
        st.start_serve()
        # The first answer after /healthz is already the restored state.
        after = st.all_assets()
        for a, b in zip(assets, after):
            diff = {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}
            check(not diff, f"{a['id']} after a restart differs (before, after): {diff}")
        check(len(after) == len(assets), f"{len(after)} engines after a restart, {len(assets)} before")
        for asset_id, before in details.items():
            after = st.get_json(f"/api/v1/assets/{asset_id}")[1]
            check(after == before, f"{asset_id} after a restart: {after} != {before}")
        check(alerts_by_id(st.all_alerts()) == alerts, "the alerts after a restart differ from before")
        starts = st.serve_log_matches(r"re-applying (\d+) journal entries")
        check(starts == ["0", "0"], f"a clean shutdown should leave nothing to re-apply: {starts}")
        check(st.stop_serve() == 0, "serve did not exit 0 on the second SIGTERM")
        print(f"SIGTERM exit 0 in {stop_s:.2f} s; restart restored {len(assets)} engines (with filter state) "
              f"and {len(alerts)} alerts exactly")


def unacknowledged_alerts_are_published_after_restart(args):
    with Stack(args.bin, args.source, persistence=True) as st:
        fleet, rows, predicted = make_fleet(st, 12, 37)
        alerts_seen = st.subscribe("turbotwin/v1/alerts/+", "alerts.log", session_id="it-outbox-consumer")
        # A store that never commits on its own: at the kill everything is in the journal only.
        lazy = st.serve_config("lazy.json", commit_interval_ms=60000, commit_records=10000000)
        st.start_serve("--config", lazy)
        st.run("replay", fleet, "--broker", st.broker, "--speed", "max", "--quiet")
        check(wait_exactly_predict(st, predicted) is None, "first run never matched predict")
        st.kill_serve()
        st.stop_broker()

        # Broker down: serve rebuilds from the journal and serves REST without it.
        st.start_serve()
        problem = wait_exactly_predict(st, predicted)
        check(problem is None, f"rebuilt from the journal with the broker down: {problem}")
        status, _, _ = st.get("/readyz")
        check(status == 503, f"/readyz {status} without a broker")
        expected = alert_changes_from_rest(st.all_alerts())
        check(st.stop_serve() == 0, "SIGTERM with the broker down did not exit 0")

        st.start_broker()
        time.sleep(0.5)  # the consumer reconnects to its saved session
        before = len(alerts_seen())  # what the first run delivered live
        st.start_serve()
        republished = [int(n) for n in st.serve_log_matches(r"publishing (\d+) alert changes the broker never acknowledged")]
        check(republished and republished[-1] >= len(expected),
              f"expected {len(expected)} alert changes published again, log says {republished}")
        got, missing = wait_mqtt_alerts(lambda: alerts_seen()[before:], expected)
        check(not missing, f"{len(missing)} alert changes never arrived on MQTT, e.g. {sorted(missing)[:4]}")
        check(wait_exactly_predict(st, predicted) is None, "state changed across the restarts")
        # Wait until the store has recorded the acknowledgements, then restart once more.
        time.sleep(1.0)
        check(st.stop_serve() == 0, "SIGTERM did not exit 0")
        st.start_serve()
        again = st.serve_log_matches(r"publishing (\d+) alert changes the broker never acknowledged")
        check(len(again) == len(republished), f"acknowledged alerts were published again: {again}")
        check(st.stop_serve() == 0, "SIGTERM did not exit 0")
        print(f"broker down at restart: REST current from the journal alone; {republished[-1]} unacknowledged alert "
              f"changes published after the broker came back, all {len(expected)} received again ({len(got)} messages "
              f"after {before} delivered live before the crash: at least once)")


def main():
    args = parse_args()
    restart_keeps_state(args)
    unacknowledged_alerts_are_published_after_restart(args)
    print("2 passed, 0 failed")


if __name__ == "__main__":
    run_test(main)
