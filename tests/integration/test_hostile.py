"""Hostile input against the real server through a real Mosquitto: every kind of bad telemetry,
interleaved with good readings, then bad HTTP over raw sockets. Asserts that the server stays
healthy, that each rejection is counted under its reason at /metrics (exact counts) and
reported on turbotwin/v1/errors (rate-limited), that a single bad sensor is ignored while the
rest of its reading is applied, that every good reading is processed, and that bad HTTP gets a
4xx JSON error (or a close after the timeout), never a 5xx, while others are still served."""
import collections
import json
import socket
import threading
import time

from harness import Stack, check, parse_args, raw_exchange, run_test, wait_until

ENGINE = "ENG-H01"
OTHER = "ENG-H02"
# Plausible values for every sensor (inside config/sensors.json's ranges).
SENSORS = {"T2": 518.67, "T24": 642.1, "T30": 1589.7, "T50": 1400.6, "P2": 14.62, "P15": 21.61, "P30": 554.36,
           "Nf": 2388.06, "Nc": 9046.19, "epr": 1.3, "Ps30": 47.47, "phi": 521.66, "NRf": 2388.02, "NRc": 8138.62,
           "BPR": 8.4195, "farB": 0.03, "htBleed": 392, "Nf_dmd": 2388, "PCNfR_dmd": 100, "W31": 39.06, "W32": 23.419}
SETTINGS = {"altitude": 0, "mach": 0, "tra": 100}
# Below mqtt.max_payload_bytes' default (64 KiB) the payload is parsed; above it, dropped unread.
OVER_LIMIT = 64 * 1024 + 1


def topic(asset):
    return f"turbotwin/v1/engines/{asset}/telemetry"


def reading(cycle, **sensor_overrides):
    sensors = dict(SENSORS, **sensor_overrides)
    return json.dumps({"cycle": cycle, "settings": SETTINGS, "sensors": sensors}).encode()


def raw_payload(text):
    return text.encode() if isinstance(text, str) else text


# The battery, in publication order: (topic, payload, expected reason or None if applied).
# ENG-H01's good cycles go 1..8; the bad messages sit between them.
BATTERY = [
    (topic(ENGINE), reading(1), None),
    (topic(ENGINE), b"not json", "malformed_json"),
    (topic(ENGINE), reading(2), None),
    (topic(ENGINE), b"[]", "not_an_object"),
    (topic(ENGINE), b'{"cycle":"x"}', "wrong_type"),
    (topic(ENGINE), b'{"cycle":3,"sensors":[642.0]}', "wrong_type"),
    (topic(ENGINE), b'{"cycle":3,"settings":3}', "wrong_type"),
    (topic(ENGINE), reading(3), None),
    (topic(ENGINE), b'{"sensors":{"T24":641.8}}', "missing_cycle"),
    (topic(ENGINE), b'{"cycle":-5,"sensors":{"T24":641.8}}', "bad_cycle"),
    (topic(ENGINE), b'{"cycle":0,"sensors":{"T24":641.8}}', "bad_cycle"),
    (topic(ENGINE), b'{"cycle":18446744073709551615,"sensors":{"T24":641.8}}', "bad_cycle"),
    (topic(ENGINE), b'{"cycle":1e20,"sensors":{"T24":641.8}}', "bad_cycle"),
    (topic(ENGINE), b'{"cycle":4.5,"sensors":{"T24":641.8}}', "bad_cycle"),
    (topic(ENGINE), b'{"cycle":4,"ts":"yesterday","sensors":{"T24":641.8}}', "wrong_type"),
    (topic(ENGINE), b'{"cycle":4,"ts":1e300,"sensors":{"T24":641.8}}', "bad_number"),
    (topic(ENGINE), b'{"cycle":4,"ts":-1,"sensors":{"T24":641.8}}', "bad_number"),
    # A reading whose only sensors are unusable has nothing to apply.
    (topic(ENGINE), b'{"cycle":4,"sensors":{"T24":"NaN","T30":null}}', "no_valid_sensors"),
    (topic(ENGINE), b'{"cycle":4,"sensors":{"T24":1e308}}', "no_valid_sensors"),
    (topic(ENGINE), b'{"cycle":4,"sensors":{"T99":1.0,"EGT":700}}', "no_valid_sensors"),
    # JSON has no NaN or infinity: a literal one, or a number that overflows a double, is not JSON.
    (topic(ENGINE), b'{"cycle":4,"sensors":{"T24":NaN}}', "malformed_json"),
    (topic(ENGINE), b'{"cycle":4,"sensors":{"T24":1e999}}', "malformed_json"),
    (topic(ENGINE), b'{"cycle":4,"sensors":{"T24":-Infinity}}', "malformed_json"),
    (topic(ENGINE), b'{"cycle":4,"sensors":{"T24\xff\xfe":1}}', "malformed_json"),
    (topic(ENGINE), b'{"cycle":4,"\xc3\x28":1}', "malformed_json"),
    (topic(ENGINE), b'{"cycle":4,"x":' + b"[" * 5000 + b"]" * 5000 + b"}", "too_deep"),
    (topic(ENGINE), b'{"cycle":4,"pad":"' + b"a" * OVER_LIMIT + b'"}', "payload_too_large"),
    (topic("A" * 65), reading(1), "bad_asset_id"),
    (topic("A" * 600), reading(1), "bad_asset_id"),
    (topic("ENG 9 ;DROP"), reading(1), "bad_asset_id"),
    (topic(".hidden"), reading(1), "bad_asset_id"),
    (topic("ENG%2F..%2Fx"), reading(1), "bad_asset_id"),
    (topic(ENGINE), reading(4), None),
    (topic(ENGINE), reading(5, T99=1.0, EGT=700.0), None),  # unknown names: ignored, reading applied
    (topic(ENGINE), reading(6), None),
    (topic(ENGINE), reading(6), "duplicate_cycle"),        # e.g. a QoS 1 redelivery
    (topic(ENGINE), reading(2), "out_of_order_cycle"),
    (topic(OTHER), reading(1), None),
]


def rejected_by_reason(metrics):
    prefix = 'turbotwin_rejected_messages_total{reason="'
    return {k[len(prefix):-2]: int(v) for k, v in metrics.items() if k.startswith(prefix)}


def asset(st, asset_id):
    status, body = st.get_json(f"/api/v1/assets/{asset_id}")
    return body if status == 200 else None


def error_reports(lines):
    """turbotwin/v1/errors messages as (topic, reason label)."""
    out = []
    for line in lines:
        name, _, payload = line.partition(" ")
        if name != "turbotwin/v1/errors":
            continue
        msg = json.loads(payload)
        out.append((msg["topic"], msg["reason"].split(":")[0]))
    return out


def check_single_bad_sensor(st, cycle, **bad):
    """A reading with one unusable sensor is applied; that sensor is counted as ignored."""
    before = st.metrics()
    st.publish(topic(ENGINE), reading(cycle, **bad))
    wait_until(f"cycle {cycle} applied", lambda: (asset(st, ENGINE) or {}).get("last_cycle") == cycle)
    after = st.metrics()
    ignored = after["turbotwin_sensors_ignored_total"] - before["turbotwin_sensors_ignored_total"]
    applied = after["turbotwin_readings_applied_total"] - before["turbotwin_readings_applied_total"]
    check(applied == 1, f"reading with bad sensor {bad} not applied ({applied})")
    check(ignored == 1, f"bad sensor {bad}: sensors_ignored rose by {ignored}, expected 1")
    check(rejected_by_reason(after) == rejected_by_reason(before), f"a single bad sensor {bad} rejected the reading")


def telemetry_battery(st):
    errors_seen = st.subscribe("turbotwin/v1/errors", "errors.log")
    before = st.metrics()
    # Paced below the errors topic's 10 reports per second, so every rejection is reported.
    for t, payload, _ in BATTERY:
        st.publish(t, payload)
        time.sleep(0.12)
    expected = collections.Counter(reason for _, _, reason in BATTERY if reason)
    good_h01 = sum(1 for t, _, r in BATTERY if r is None and t == topic(ENGINE))

    wait_until("every rejection counted",
             lambda: sum(rejected_by_reason(st.metrics()).values()) >= sum(expected.values()))
    wait_until(f"{ENGINE} at cycle 6", lambda: (asset(st, ENGINE) or {}).get("last_cycle") == 6)
    wait_until(f"{OTHER} at cycle 1", lambda: (asset(st, OTHER) or {}).get("last_cycle") == 1)
    time.sleep(0.5)  # anything still in flight would show as an extra count below
    m = st.metrics()
    counted = collections.Counter(rejected_by_reason(m)) - collections.Counter(rejected_by_reason(before))
    check(counted == expected, f"rejections by reason {dict(counted)} != expected {dict(expected)}")
    received = m["turbotwin_messages_received_total"] - before.get("turbotwin_messages_received_total", 0)
    check(received == len(BATTERY), f"{received} messages received of {len(BATTERY)} published")
    applied = m["turbotwin_readings_applied_total"] - before.get("turbotwin_readings_applied_total", 0)
    check(applied == good_h01 + 1, f"{applied} readings applied, expected {good_h01 + 1}")
    h01 = asset(st, ENGINE)
    check(h01["readings"] == good_h01, f"{ENGINE} applied {h01['readings']} readings, expected {good_h01}")
    check(h01["fault"] is None, f"{ENGINE} has a fault: {h01['fault']}")
    for bad_id in ("A" * 65, "ENG 9 ;DROP", ".hidden"):
        status, _ = st.get_json("/api/v1/assets/" + bad_id.replace(" ", "%20"))
        check(status in (400, 404), f"an engine was created for the bad id {bad_id!r} ({status})")
    print(f"telemetry: {len(BATTERY)} messages, rejected exactly as expected: {dict(expected)}")

    # Every rejection reported on the errors topic, with its reason and (bounded) topic.
    reports = wait_until("every rejection reported on turbotwin/v1/errors",
                       lambda: (lambda r: r if len(r) >= sum(expected.values()) else None)(error_reports(errors_seen())))
    check(collections.Counter(reason for _, reason in reports) == expected,
          f"errors topic reasons {collections.Counter(r for _, r in reports)} != {dict(expected)}")
    check(all(len(t) <= 200 for t, _ in reports), "an error report echoes an unbounded topic")

    # Single bad sensors: ignored, the rest of the reading applied.
    check_single_bad_sensor(st, 7, T24="NaN")
    check_single_bad_sensor(st, 8, T30=1e308)
    check_single_bad_sensor(st, 9, T50=None)
    print("single bad sensors: ignored and counted, readings applied")

    # A burst of garbage is counted in full but reported at most 10 per second, and a good
    # reading right behind it is still processed promptly.
    time.sleep(1.1)  # a fresh rate-limit window
    burst_before = rejected_by_reason(st.metrics()).get("malformed_json", 0)
    reported_before = len(error_reports(errors_seen()))
    burst = 200
    t0 = time.time()
    st.publish_lines(topic("ENG-BURST"), [b"garbage %d" % i for i in range(burst)])
    st.publish(topic(ENGINE), reading(10))
    wait_until("the good reading behind the burst", lambda: (asset(st, ENGINE) or {}).get("last_cycle") == 10)
    latency = time.time() - t0
    wait_until("the burst counted", lambda: rejected_by_reason(st.metrics()).get("malformed_json", 0) - burst_before >= burst)
    time.sleep(0.5)
    counted = rejected_by_reason(st.metrics()).get("malformed_json", 0) - burst_before
    check(counted == burst, f"burst of {burst}: {counted} counted")
    burst_reports = len(error_reports(errors_seen())) - reported_before
    elapsed = time.time() - t0
    check(1 <= burst_reports <= 10 * (int(elapsed) + 1),
          f"{burst_reports} error reports for a burst of {burst} in {elapsed:.1f} s (limit 10/s)")
    check(latency < 5.0, f"a good reading behind a burst of {burst} took {latency:.2f} s")
    print(f"burst of {burst} bad messages: all counted, {burst_reports} reported; good reading behind it in {latency:.2f} s")


def raw_request(method, target, headers=(), body=b""):
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(f"{h}\r\n" for h in headers)
    return head.encode() + b"\r\n" + body


def check_error_reply(what, reply, statuses):
    check(reply.status is not None, f"{what}: no answer")
    check(reply.status in statuses, f"{what}: status {reply.status}, expected {statuses}: {reply.body[:200]!r}")
    check(reply.headers.get("content-type") == "application/json", f"{what}: content-type {reply.headers.get('content-type')}")
    err = reply.json().get("error", {})
    check(isinstance(err.get("code"), str) and isinstance(err.get("message"), str), f"{what}: error body {reply.body!r}")
    for leak in (b"root:", b"/etc/", b"exception", b"what()", b".cpp", b"boost"):
        check(leak not in reply.body.lower(), f"{what}: answer leaks {leak!r}: {reply.body[:200]!r}")


def hostile_http(st):
    # A slow client sends half a request and stalls; it must not hold up anyone else.
    slow = socket.create_connection(("127.0.0.1", st.http_port))
    slow.sendall(b"GET /api/v1/assets HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    slow_body = socket.create_connection(("127.0.0.1", st.http_port))
    slow_body.sendall(b"POST /api/v1/alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n0123456789")
    slow_since = time.time()

    cases = [
        ("unknown route", raw_request("GET", "/api/v1/nope"), {404}),
        ("unknown route under assets", raw_request("GET", "/api/v2/assets"), {404}),
        ("POST on a read route", raw_request("POST", "/api/v1/assets", ["Content-Length: 2"], b"{}"), {405}),
        ("DELETE", raw_request("DELETE", "/api/v1/assets/ENG-H01"), {405}),
        ("PUT /healthz", raw_request("PUT", "/healthz", ["Content-Length: 0"]), {405}),
        ("unknown method", raw_request("BREW", "/healthz"), {400, 405}),
        ("limit=-1", raw_request("GET", "/api/v1/assets?limit=-1"), {400}),
        ("limit=0", raw_request("GET", "/api/v1/assets?limit=0"), {400}),
        ("limit=abc", raw_request("GET", "/api/v1/assets?limit=abc"), {400}),
        ("limit=100000", raw_request("GET", "/api/v1/assets?limit=100000"), {400}),
        ("limit=99999999999999999999999", raw_request("GET", "/api/v1/alerts?limit=99999999999999999999999"), {400}),
        ("cursor with NUL and bad UTF-8", raw_request("GET", "/api/v1/assets?cursor=%00%ff"), {400}),
        ("bad asset cursor", raw_request("GET", "/api/v1/assets?cursor=%ff%fe"), {400}),
        ("bad alert cursor", raw_request("GET", "/api/v1/alerts?cursor=-3"), {400}),
        ("bad escape", raw_request("GET", "/api/v1/assets?limit=%zz"), {400}),
        ("traversal", raw_request("GET", "/../../etc/passwd"), {400}),
        ("encoded traversal", raw_request("GET", "/api/v1/assets/..%2F..%2Fetc%2Fpasswd"), {400}),
        ("dot segment", raw_request("GET", "/api/v1/./assets"), {400}),
        ("backslash traversal", raw_request("GET", "/api/v1/assets/..\\..\\etc\\passwd"), {400}),
        ("NUL in path", raw_request("GET", "/api/v1/assets/ENG%00H01"), {400}),
        ("5000-character asset id", raw_request("GET", "/api/v1/assets/" + "A" * 5000), {400}),
        ("oversized header", raw_request("GET", "/healthz", ["X-Big: " + "a" * 200_000]), {431}),
        ("many headers", raw_request("GET", "/healthz", [f"X-{i}: {'b' * 100}" for i in range(400)]), {431}),
        ("announced 20 MB body", raw_request("POST", "/api/v1/alerts", ["Content-Length: 20000000"], b"x" * 65536), {413}),
        ("chunked body over the limit", raw_request("POST", "/api/v1/alerts", ["Transfer-Encoding: chunked"],
                                                    b"200000\r\n" + b"y" * 65536), {413}),
        ("malformed header line", b"GET /healthz HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", {400}),
        ("not HTTP", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n", {400}),
        # The one 5xx the server gives on purpose: 505 is the status RFC 9110 names for this.
        ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {505}),
        ("bad content-length", raw_request("POST", "/api/v1/alerts", ["Content-Length: 12abc"]), {400}),
        ("smuggling: CL and TE", raw_request("POST", "/api/v1/alerts", ["Content-Length: 3", "Transfer-Encoding: chunked"],
                                             b"3\r\nabc\r\n0\r\n\r\n"), {400}),
    ]
    # After a limit or framing error the server cannot tell where the next request starts, so
    # it must close; after a routing or query error the connection stays usable.
    framing_errors = {"oversized header", "many headers", "announced 20 MB body", "chunked body over the limit",
                      "malformed header line", "not HTTP", "HTTP/2 preface", "bad content-length", "smuggling: CL and TE"}
    codes = []
    for what, data, statuses in cases:
        reply = st.raw_http(data)
        check_error_reply(what, reply, statuses)
        codes.append(reply.status)
        if what in framing_errors:
            check(reply.closed, f"{what}: connection left open after a framing error")
    print(f"hostile HTTP: {len(cases)} requests, answers {collections.Counter(codes)}")

    # Meanwhile the stalled clients held nothing up: others are answered at once.
    t0 = time.time()
    for _ in range(20):
        status, _, _ = st.get("/healthz")
        check(status == 200, f"/healthz {status} while slow clients wait")
    check(time.time() - t0 < 5.0, f"20 requests took {time.time() - t0:.2f} s while slow clients wait")

    # The stalled clients get a 4xx or are closed once the request timeout (10 s) passes.
    for name, sock in (("half a header", slow), ("half a body", slow_body)):
        reply = raw_exchange(sock, b"", timeout=20.0)
        waited = time.time() - slow_since
        check(reply.status is None or 400 <= reply.status < 500, f"slow client ({name}) got {reply.status}")
        check(reply.closed, f"slow client ({name}) never closed")
        check(waited < 20.0, f"slow client ({name}) held for {waited:.1f} s")
        sock.close()
    print(f"slow clients closed after {time.time() - slow_since:.1f} s; others served meanwhile")

    # A keep-alive client can go on after a 404/405/400-from-router on the same connection.
    with socket.create_connection(("127.0.0.1", st.http_port), timeout=10) as s:
        check_error_reply("keep-alive 404", raw_exchange(s, raw_request("GET", "/nope")), {404})
        ok = raw_exchange(s, raw_request("GET", "/healthz"))
        check(ok.status == 200, f"keep-alive after 404: {ok.status}")


def concurrent_health(st, stop, failures):
    """Polls /healthz while the battery runs: the server must answer throughout."""
    while not stop.is_set():
        try:
            status, _, _ = st.get("/healthz")
            if status != 200:
                failures.append(status)
        except OSError as e:
            failures.append(str(e))
        time.sleep(0.2)


def main():
    args = parse_args()
    with Stack(args.bin, args.source) as st:
        st.start_serve()
        stop, failures = threading.Event(), []
        poller = threading.Thread(target=concurrent_health, args=(st, stop, failures))
        poller.start()
        try:
            telemetry_battery(st)
            hostile_http(st)
        finally:
            stop.set()
            poller.join()
        check(not failures, f"/healthz failed while under attack: {failures[:5]}")
        check(st.serve_proc.poll() is None, "serve died")
        status, body = st.get_json("/healthz")
        check(status == 200 and body["status"] == "ok", f"healthz {status} {body}")
        check((asset(st, ENGINE) or {}).get("last_cycle") == 10, "REST lost the engine state")
        code = st.stop_serve()
        check(code == 0, f"serve exited {code} on SIGTERM")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    run_test(main)
