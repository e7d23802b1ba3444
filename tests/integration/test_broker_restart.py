"""Broker restart mid-stream, with persistence on (as config/mosquitto.conf.example).

serve keeps a persistent session (fixed client id, clean session off, QoS 1): the broker saves
its subscription and what it had queued for it, serve reconnects with backoff and carries on,
and the alerts it raised are all delivered. The replay gets no grace period after its reconnect
(--resume-delay 0), so only the persistent session protects what is published meanwhile."""
import time

from durability import alert_changes_from_rest, make_fleet, wait_exactly_predict, wait_mqtt_alerts
from harness import Stack, check, parse_args, run_test


def main():
    args = parse_args()
    with Stack(args.bin, args.source, persistence=True) as st:
        fleet, rows, predicted = make_fleet(st, 16, 23)
        # A persistent alert consumer: the broker keeps its queue across the restart as well.
        alerts_seen = st.subscribe("turbotwin/v1/alerts/+", "alerts.log", session_id="it-alert-consumer")
        st.start_serve()
        speed = 900
        replay = st.replay_async(fleet, "--speed", str(speed), "--resume-delay", "0")
        time.sleep(1.3)
        check(replay.poll() is None, "the replay ended before the broker restart")
        st.stop_broker()
        time.sleep(3)
        st.start_broker()
        check(replay.wait(60) == 0, "replay did not survive the broker restart: " + st.log("replay.log")[-500:])

        problem = wait_exactly_predict(st, predicted)
        check(problem is None, f"after a broker restart: {problem}")
        m = st.metrics()
        check(m.get("turbotwin_mqtt_reconnects", 0) >= 1, "serve never reconnected")
        check(m.get("turbotwin_mqtt_connected", 0) == 1, "serve is not connected after the restart")
        print(f"{rows} rows at {speed}/s, broker down 3 s: {len(predicted)} engines identical to predict, "
              f"every cycle applied once; serve reconnected {int(m['turbotwin_mqtt_reconnects'])} time(s)")

        # Every alert change REST shows reached the persistent consumer; nothing else did.
        rest_alerts = st.all_alerts()
        expected = alert_changes_from_rest(rest_alerts)
        check(len(expected) > 0, "no alert raised")
        got, missing = wait_mqtt_alerts(alerts_seen, expected)
        check(not missing, f"{len(missing)} alert changes never arrived on MQTT, e.g. {sorted(missing)[:4]}")
        unknown = set(got) - expected
        check(not unknown, f"alert changes on MQTT that REST does not know: {sorted(unknown)[:4]}")
        print(f"alerts: all {len(expected)} changes on REST arrived on MQTT ({len(got)} messages)")
        check(st.stop_serve() == 0, "serve did not exit 0 on SIGTERM")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    run_test(main)
