"""The whole chain with real parts: simulate a fleet, replay it through a real Mosquitto into
the real server, then check every engine through REST against `predict` (bit for bit), the
RUL and alert topics on MQTT, the alert list on REST, API errors, and a clean SIGTERM."""
import json
import time

from harness import Stack, check, parse_args, read_predict_csv, wait_for, wait_rest_equals_predict, run_test


def main():
    args = parse_args()
    with Stack(args.bin, args.source) as st:
        alerts_seen = st.subscribe("turbotwin/v1/alerts/+", "alerts.log")
        rul_seen = st.subscribe("turbotwin/v1/engines/+/rul", "rul.log")
        st.start_serve()
        fleet = st.path("fleet.txt")
        st.run("simulate", "--engines", "12", "--seed", "5", "--out", fleet, "--cut-short-fraction", "0.25")
        t0 = time.time()
        replay = st.run("replay", fleet, "--broker", st.broker, "--speed", "max", "--quiet")
        rows = sum(1 for line in open(fleet) if line.strip())
        print(f"replayed {rows} rows in {time.time() - t0:.2f} s")
        predicted = read_predict_csv(st.run("predict", fleet).stdout)
        check(len(predicted) == 12, f"predict gave {len(predicted)} engines")

        t1 = time.time()
        problem = wait_rest_equals_predict(st, predicted)
        check(problem is None, f"REST never matched predict: {problem}")
        print(f"REST identical to predict for {len(predicted)} engines, {time.time() - t1:.2f} s after replay")

        # Every engine's last RUL message carries the same numbers as predict.
        deadline = time.time() + 10
        while True:
            last = {}
            for line in rul_seen():
                topic, payload = line.split(" ", 1)
                msg = json.loads(payload)
                check(topic == f"turbotwin/v1/engines/{msg['asset']}/rul", f"RUL on wrong topic: {topic}")
                last[msg["asset"]] = msg
            if all(a in last and last[a]["cycle"] == int(p["cycle"]) for a, p in predicted.items()) or time.time() > deadline:
                break
            time.sleep(0.2)
        for asset, p in predicted.items():
            m = last.get(asset)
            check(m is not None, f"no RUL message for {asset}")
            check(m["cycle"] == int(p["cycle"]) and m["rul"] == float(p["rul"]) and m["rul_hi"] == float(p["rul_hi"]),
                  f"last RUL message of {asset} {m} differs from predict {p}")
            check(m["severity"] in ("normal", "warning", "critical"), f"bad severity {m}")

        # Run-to-failure engines end near RUL 0: alerts must have fired, on MQTT and REST alike.
        # First let the subscriber's log catch up with what serve published.
        published = st.metrics()["turbotwin_alert_messages_published_total"]
        wait_for(lambda: len(alerts_seen()) >= published)
        mqtt_alerts = [json.loads(l.split(" ", 1)[1]) for l in alerts_seen()]
        status, rest = st.get_json("/api/v1/alerts?limit=1000")
        check(status == 200, f"/api/v1/alerts {status}")
        check(len(mqtt_alerts) > 0, "no alert on MQTT")
        check(len(rest["items"]) > 0, "no alert on REST")
        rest_ids = {a["id"] for a in rest["items"]}
        for a in mqtt_alerts:
            for field in ("id", "asset", "severity", "state", "cycle", "rul", "rul_lo", "rul_hi"):
                check(field in a, f"alert lacks {field}: {a}")
            check(a["id"] in rest_ids, f"MQTT alert {a['id']} not listed on REST")
        raised = [a for a in mqtt_alerts if a["state"] == "active"]
        check(len({a["id"] for a in raised}) == len(raised), "an alert was raised twice")
        critical_assets = {a["asset"] for a in raised if a["severity"] == "critical"}
        check(len(critical_assets) >= 3, f"only {len(critical_assets)} engines reached critical")
        print(f"alerts: {len(mqtt_alerts)} on MQTT, {len(rest['items'])} on REST, {len(critical_assets)} engines critical")

        # Paging walks every engine exactly once.
        paged = st.all_assets(limit=5)
        check(sorted(a["id"] for a in paged) == sorted(predicted), "paging with limit=5 lost or repeated engines")
        status, page = st.get_json("/api/v1/assets?limit=5")
        check(len(page["items"]) == 5 and page["next_cursor"], f"first page {page}")

        # Errors are JSON with the right status.
        some = sorted(predicted)[0]
        status, detail = st.get_json(f"/api/v1/assets/{some}")
        check(status == 200 and "sensors" in detail and "T30" in detail["sensors"], f"asset detail {status} {detail}")
        for path, want in (("/api/v1/assets/ENG-999", 404), ("/api/v1/assets?limit=0", 400), ("/api/v1/assets?limit=abc", 400),
                           ("/api/v1/alerts?limit=1001", 400), ("/api/v1/nope", 404)):
            status, body = st.get_json(path)
            check(status == want and "error" in body and "code" in body["error"], f"{path}: {status} {body}")
        status, _, _ = st.get("/api/v1/assets", method="POST")
        check(status == 405, f"POST /api/v1/assets gave {status}")
        status, html, headers = st.get("/")
        check(status == 200 and "turbotwin" in html and headers.get("Content-Type", "").startswith("text/html"), "dashboard")

        code = st.stop_serve()
        check(code == 0, f"serve exited {code} on SIGTERM")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    run_test(main)
