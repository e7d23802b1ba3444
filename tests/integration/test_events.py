"""Engine events through the real server: a shop visit starts a new life, a failure closes the twin.

A maintenance event at cycle N, then a second life replayed with cycle numbers going on from N:
the twin must then equal `predict` on that second life alone (a new life is a new engine). A
failure event closes a twin: its telemetry is refused (reason asset_closed). Both survive a
restart, and the events are in the store as ground truth."""
import json
import os
import sqlite3
import time

from durability import make_fleet
from harness import Stack, check, parse_args, read_predict_csv, run_test, wait_rest_equals_predict

OPERATOR = "op-" + os.urandom(12).hex()
VIEWER = "view-" + os.urandom(12).hex()


def post_event(st, asset, body, token=OPERATOR):
    status, text, _ = st.get(f"/api/v1/assets/{asset}/events", "POST", token=token, body=body)
    return status, json.loads(text)


def main():
    args = parse_args()
    with Stack(args.bin, args.source) as st:
        env = dict(os.environ, TURBOTWIN_API_TOKENS=f"operator:{OPERATOR},viewer:{VIEWER}")
        first, _, predicted = make_fleet(st, 4, 21)
        second, _, _ = make_fleet(st, 4, 22)
        st.start_serve(env=env)
        st.run("replay", first, "--broker", st.broker, "--speed", "max", "--quiet")
        problem = wait_rest_equals_predict(st, predicted)
        check(problem is None, problem)

        overhauled, failed = sorted(predicted)[:2]
        last = int(predicted[overhauled]["cycle"])
        shop = last + 3
        status, body = post_event(st, overhauled, {"type": "maintenance", "cycle": shop, "note": "HPT module swap"}, VIEWER)
        check(status == 403, f"a viewer recorded an event: {status} {body}")
        status, body = post_event(st, overhauled, {"type": "maintenance", "cycle": last - 1})
        check(status == 409, f"maintenance before the last reading should be 409, got {status} {body}")
        status, body = post_event(st, overhauled, {"type": "maintenance", "cycle": shop, "note": "HPT module swap"})
        check(status == 201, f"maintenance: {status} {body}")
        check(body["asset"]["life_start_cycle"] == shop and body["asset"]["readings"] == 0, f"after maintenance: {body['asset']}")
        had_alert = body["cleared_alert"] is not None
        print(f"{overhauled}: maintenance at cycle {shop} (after cycle {last}); cleared alert: {had_alert}")

        # The second life: unit 1 of another fleet, cycle numbers continuing after the visit.
        unit = int(overhauled.rsplit("-", 1)[1])
        lines = [l.split() for l in open(second) if l.strip()]
        life = [l for l in lines if int(l[0]) == 1]
        shifted = st.path("second-life.txt")
        with open(shifted, "w") as f:
            for l in life:
                f.write(" ".join([str(unit), str(int(l[1]) + shop)] + l[2:]) + "\n")
        only_unit1 = st.path("unit1.txt")
        with open(only_unit1, "w") as f:
            for l in life:
                f.write(" ".join(["1"] + l[1:]) + "\n")
        new_engine = read_predict_csv(st.run("predict", only_unit1).stdout)
        expected = dict(next(iter(new_engine.values())))
        expected["cycle"] = str(int(expected["cycle"]) + shop)
        st.run("replay", shifted, "--broker", st.broker, "--speed", "max", "--quiet")
        problem = wait_rest_equals_predict(st, {overhauled: expected})
        check(problem is None, f"the second life is not a new engine's: {problem}")
        print(f"{overhauled}: second life of {len(life)} cycles equals predict on a new engine, bit for bit")

        # A failure closes the twin; its telemetry is then refused and counted.
        fail_at = int(predicted[failed]["cycle"]) + 1
        status, body = post_event(st, failed, {"type": "failure", "cycle": fail_at, "note": "IFSD"})
        check(status == 201 and body["asset"]["closed"] == {"type": "failure", "cycle": fail_at}, f"failure: {status} {body}")
        status, body = post_event(st, failed, {"type": "removal", "cycle": fail_at})
        check(status == 409, f"a closed engine took a second closure: {status}")
        before = st.metrics().get('turbotwin_rejected_messages_total{reason="asset_closed"}', 0)
        st.publish(f"turbotwin/v1/engines/{failed}/telemetry", json.dumps({"cycle": fail_at + 5, "sensors": {"T24": 642.0}}).encode())
        deadline_ok = False
        for _ in range(50):
            if st.metrics().get('turbotwin_rejected_messages_total{reason="asset_closed"}', 0) == before + 1:
                deadline_ok = True
                break
            time.sleep(0.1)
        check(deadline_ok, "telemetry for a failed engine was not refused as asset_closed")
        status, body = post_event(st, "NO-SUCH-ENGINE", {"type": "failure", "cycle": 3})
        check(status == 404, f"unknown engine: {status}")

        # Restart: both events are part of the durable state, and stored as ground truth.
        check(st.stop_serve() == 0, "serve did not exit 0")
        st.start_serve(env=env)
        status, a = st.get_json(f"/api/v1/assets/{overhauled}")
        check(a["life_start_cycle"] == shop and float(a["rul"]) == float(expected["rul"]), f"after restart: {a}")
        status, a = st.get_json(f"/api/v1/assets/{failed}")
        check(a["closed"] == {"type": "failure", "cycle": fail_at}, f"after restart: {a}")
        check(st.stop_serve() == 0, "serve did not exit 0")
        db = sqlite3.connect(st.path("data/turbotwin.db"))
        rows = db.execute("SELECT asset, type, cycle, note FROM events ORDER BY seq").fetchall()
        db.close()
        check(rows == [(overhauled, "maintenance", shop, "HPT module swap"), (failed, "failure", fail_at, "IFSD")], f"stored events: {rows}")
        print("events survive a restart and are stored:", rows)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    run_test(main)
