"""Observability of the real server: Prometheus metrics (processing latency histogram, HTTP
requests by route and status, alerts by state), readiness with its parts, and JSON-lines logs."""
import json

from durability import make_fleet, wait_exactly_predict
from harness import Stack, check, parse_args, run_test


def main():
    args = parse_args()
    with Stack(args.bin, args.source) as st:
        fleet, rows, predicted = make_fleet(st, 6, 3)
        st.start_serve("--log-format", "json")
        st.run("replay", fleet, "--broker", st.broker, "--speed", "max", "--quiet")
        check(wait_exactly_predict(st, predicted) is None, "fleet never matched predict")

        status, ready = st.get_json("/readyz")
        check(status == 200 and ready["ready"] and ready["broker_connected"] and ready["model_loaded"] and ready["store"] == "open",
              f"/readyz: {status} {ready}")
        for path in ("/api/v1/assets/ENG-001", "/api/v1/assets/ENG-001", "/api/v1/assets/NOPE", "/api/v1/assets?limit=0", "/nowhere"):
            st.get(path)
        m = st.metrics()
        count = m.get("turbotwin_processing_seconds_count", 0)
        check(count >= rows, f"latency histogram counted {count} of {rows} messages")
        check(m.get('turbotwin_processing_seconds_bucket{le="+Inf"}') == count, "the +Inf bucket must equal the count")
        buckets = sorted((float(k.split('"')[1]), v) for k, v in m.items()
                         if k.startswith("turbotwin_processing_seconds_bucket") and "+Inf" not in k)
        check(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), "histogram buckets must be cumulative")
        check(m.get("turbotwin_processing_seconds_sum", -1) > 0, "latency sum missing")
        for key, want in (('turbotwin_http_requests_total{route="/api/v1/assets/{id}",status="200"}', 1),
                          ('turbotwin_http_requests_total{route="/api/v1/assets/{id}",status="404"}', 1),
                          ('turbotwin_http_requests_total{route="/api/v1/assets",status="400"}', 1),
                          ('turbotwin_http_requests_total{route="other",status="404"}', 1)):
            check(m.get(key, 0) >= want, f"{key} = {m.get(key)}")
        rest_alerts = st.all_alerts()
        for state in ("active", "acknowledged", "cleared"):
            want = sum(1 for a in rest_alerts if a["state"] == state)
            key = f'turbotwin_alerts{{state="{state}"}}'
            check(m.get(key) == want, f"alerts {state}: metrics {m.get(key)} vs REST {want}")
        check(sum(m.get(f'turbotwin_assets{{severity="{s}"}}', 0) for s in ("normal", "warning", "critical")) == 6, "assets by severity")
        print(f"metrics: {int(count)} latencies, p-buckets cumulative, HTTP by route/status, alerts by state match REST")

        check(st.stop_serve() == 0, "serve did not exit 0")
        lines = [l for l in st.log("serve.log").splitlines() if l.strip()]
        check(len(lines) >= 3, "serve logged almost nothing")
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                check(False, f"not a JSON log line: {line[:200]}")
            check({"time", "level", "msg"} <= set(entry), f"log line lacks fields: {entry}")
        print(f"logs: {len(lines)} lines, each one JSON object")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    run_test(main)
