"""GET /api/v1/stream (Server-Sent Events) against the real server: the streaming header, an
`event: rul` frame within 5 s of one reading published on MQTT, every alert change of a
replayed fleet as `event: alert` (the same changes REST lists) and each engine's last RUL frame
equal to `predict`, the ?asset= filter, the stream gauge on /metrics, and a clean exit 0 on
SIGTERM with streams open, each ending with the last chunk of its body."""
import json
import socket
import threading
import time

from durability import alert_changes_from_rest, make_fleet, wait_exactly_predict
from harness import Stack, check, parse_args, run_test

LIVE = "SSE-LIVE-1"
# Plausible values for every sensor (inside config/sensors.json's ranges), as in test_hostile.
SENSORS = {"T2": 518.67, "T24": 642.1, "T30": 1589.7, "T50": 1400.6, "P2": 14.62, "P15": 21.61, "P30": 554.36,
           "Nf": 2388.06, "Nc": 9046.19, "epr": 1.3, "Ps30": 47.47, "phi": 521.66, "NRf": 2388.02, "NRc": 8138.62,
           "BPR": 8.4195, "farB": 0.03, "htBleed": 392, "Nf_dmd": 2388, "PCNfR_dmd": 100, "W31": 39.06, "W32": 23.419}
SETTINGS = {"altitude": 0, "mach": 0, "tra": 100}


def reading(cycle):
    return json.dumps({"cycle": cycle, "settings": SETTINGS, "sensors": SENSORS}).encode()


class SseClient:
    """One stream on a raw socket. A thread decodes the chunked body and splits it into events
    [(event, data)] and comment lines, in arrival order."""

    def __init__(self, port, path="/api/v1/stream"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(65536)
            check(chunk, f"{path}: the server closed before the header")
            buf += chunk
        head, _, self._raw = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split(" ")[1])
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self._text = ""
        self.lock = threading.Lock()
        self.events = []
        self.comments = 0
        self.last_chunk = False
        self.closed = False
        self.sock.settimeout(None)  # the reader blocks until data, the server's close, or ours
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            self._decode()
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                with self.lock:
                    self.closed = True
                return
            self._raw += data

    def _decode(self):
        while not self.last_chunk:
            eol = self._raw.find(b"\r\n")
            if eol < 0:
                break
            size = int(self._raw[:eol], 16)
            if size == 0:
                if len(self._raw) < eol + 4:
                    break
                self._raw = self._raw[eol + 4:]
                with self.lock:
                    self.last_chunk = True
                break
            if len(self._raw) < eol + 2 + size + 2:
                break
            self._text += self._raw[eol + 2:eol + 2 + size].decode()
            self._raw = self._raw[eol + 2 + size + 2:]
        while "\n\n" in self._text:
            block, _, self._text = self._text.partition("\n\n")
            event, data, fields = "message", [], 0
            for line in block.split("\n"):
                if line.startswith(":"):
                    continue
                fields += 1
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "event":
                    event = value
                elif name == "data":
                    data.append(value)
            with self.lock:
                if fields == 0:
                    self.comments += 1
                else:
                    self.events.append((event, "\n".join(data)))

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def wait_event(self, pred, timeout):
        """The first event (event, parsed data) for which pred holds, or None after `timeout`."""
        deadline = time.time() + timeout
        while True:
            for event, data in self.snapshot():
                parsed = json.loads(data)
                if pred(event, parsed):
                    return event, parsed
            if time.time() > deadline:
                return None
            time.sleep(0.05)

    def wait_closed(self, timeout):
        self.thread.join(timeout)
        with self.lock:
            return self.closed

    def close(self):
        self.sock.close()


def main():
    args = parse_args()
    with Stack(args.bin, args.source) as st:
        fleet, _, predicted = make_fleet(st, 12, 5)
        check(LIVE not in predicted, "the live engine's id clashes with the fleet's")
        st.start_serve()

        everything = SseClient(st.http_port)
        check(everything.status == 200, f"/api/v1/stream answered {everything.status}")
        h = everything.headers
        check(h.get("content-type") == "text/event-stream", f"content type {h}")
        check(h.get("cache-control") == "no-store", f"cache control {h}")
        check(h.get("transfer-encoding") == "chunked" and "content-length" not in h, f"framing {h}")
        only_live = SseClient(st.http_port, f"/api/v1/stream?asset={LIVE}")
        check(only_live.status == 200, f"?asset= answered {only_live.status}")
        status, body, _ = st.get("/api/v1/stream?asset=no%20such%20id")
        check(status == 400 and json.loads(body)["error"]["code"] == "bad_request", f"bad asset: {status} {body}")
        status, _, _ = st.get("/api/v1/stream", method="POST")
        check(status == 405, f"POST /api/v1/stream gave {status}")

        # One reading on MQTT: its RUL shows up on the stream within 5 s.
        t0 = time.time()
        st.publish(f"turbotwin/v1/engines/{LIVE}/telemetry", reading(1))
        got = everything.wait_event(lambda e, d: e == "rul" and d["asset"] == LIVE, timeout=5)
        check(got is not None, f"no rul event for {LIVE} within 5 s: {everything.snapshot()[:5]}")
        latency = time.time() - t0
        rul = got[1]
        check(rul["cycle"] == 1, f"cycle {rul}")
        for field in ("rul", "rul_lo", "rul_hi", "severity", "confidence"):
            check(field in rul, f"rul event lacks {field}: {rul}")
        check(rul["rul_lo"] <= rul["rul"] <= rul["rul_hi"], f"interval {rul}")
        check(rul["severity"] in ("normal", "warning", "critical"), f"severity {rul}")
        check(only_live.wait_event(lambda e, d: e == "rul" and d["asset"] == LIVE, timeout=5) is not None,
              "the filtered stream missed its engine")
        print(f"rul event for {LIVE} {latency * 1000:.0f} ms after the publish")

        # A replayed fleet: every alert change arrives as `event: alert`, and each engine's last
        # rul event carries predict's numbers.
        st.run("replay", fleet, "--broker", st.broker, "--speed", "max", "--quiet")
        problem = wait_exactly_predict(st, predicted)
        check(problem is None, problem)
        rest_alerts = st.all_alerts()
        expected = alert_changes_from_rest(rest_alerts)
        check(len(expected) > 0, "the fleet raised no alert")
        deadline = time.time() + 10
        while True:
            streamed = [json.loads(d) for e, d in everything.snapshot() if e == "alert"]
            missing = expected - {(a["id"], a["state"]) for a in streamed}
            if not missing or time.time() > deadline:
                break
            time.sleep(0.1)
        check(not missing, f"alert changes on REST but not on the stream: {sorted(missing)[:5]}")
        for a in streamed:
            for field in ("id", "asset", "severity", "state", "cycle", "rul", "rul_lo", "rul_hi"):
                check(field in a, f"alert event lacks {field}: {a}")
        # REST has every reading applied; the stream's frames can still be on their way to this
        # client (a busy machine): wait for each engine's last cycle, then judge what came.
        def last_rul_events():
            last = {}
            for e, d in everything.snapshot():
                if e == "rul":
                    msg = json.loads(d)
                    check(msg["cycle"] > last.get(msg["asset"], {"cycle": 0})["cycle"], f"rul events out of order: {msg}")
                    last[msg["asset"]] = msg
            return last

        deadline = time.time() + 10
        while True:
            last = last_rul_events()
            behind = [a for a, row in predicted.items() if last.get(a, {"cycle": 0})["cycle"] < int(row["cycle"])]
            if not behind or time.time() > deadline:
                break
            time.sleep(0.1)
        for asset, row in predicted.items():
            m = last.get(asset)
            check(m is not None, f"no rul event for {asset}")
            check(m["cycle"] == int(row["cycle"]) and m["rul"] == float(row["rul"]) and m["rul_hi"] == float(row["rul_hi"]),
                  f"last rul event of {asset} {m} differs from predict {row}")
        # One rul event per applied reading (wait_exactly_predict: each engine applied cycles 1..last).
        readings = sum(int(row["cycle"]) for row in predicted.values())
        rul_events = sum(1 for e, _ in everything.snapshot() if e == "rul")
        check(rul_events == readings + 1, f"{rul_events} rul events for {readings} fleet readings and 1 live one")
        check(all(json.loads(d)["asset"] == LIVE for _, d in only_live.snapshot()), "the filter let other engines through")
        print(f"stream: {rul_events} rul events, {len(streamed)} alert events ({len(expected)} changes on REST)")

        values = st.metrics()
        check(values.get("turbotwin_stream_clients") == 2, f"stream gauge {values.get('turbotwin_stream_clients')}")

        # SIGTERM with both streams open: exit 0, and each stream's body ends properly.
        t1 = time.time()
        code = st.stop_serve()
        check(code == 0, f"serve exited {code} on SIGTERM")
        for client in (everything, only_live):
            check(client.wait_closed(5), "a stream stayed open after serve exited")
            check(client.last_chunk, "a stream was cut off without its last chunk")
        print(f"SIGTERM with 2 open streams: exit 0 in {time.time() - t1:.2f} s, both streams ended cleanly")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    run_test(main)
