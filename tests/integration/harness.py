"""Shared harness for integration tests: a private Mosquitto and `turbotwin serve` on free
loopback ports, real HTTP, real MQTT (mosquitto_sub), cleaned up on exit.

Exit code 77 means skipped (CTest SKIP_RETURN_CODE)."""
import argparse
import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SKIP = 77


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--source", required=True)
    # tests/bench/mqtt_echo (CTest passes it; by hand it defaults to the one beside --bin's build)
    ap.add_argument("--echo")
    args = ap.parse_args()
    if not args.echo:
        args.echo = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.bin))), "tests", "bench", "mqtt_echo")
    return args


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Stack:
    """Broker + server + subscribers; use as a context manager."""

    def __init__(self, binary, source, persistence=False, broker_conf=None):
        """persistence: the broker keeps sessions and queued messages across its restarts
        (restart_broker), as the Mosquitto config serve is meant for (config/mosquitto.conf.example).
        broker_conf: a function of this Stack returning the whole mosquitto.conf text, called on
        entering (e.g. a TLS listener on self.mq_port with files under self.work); self.broker,
        which serve and replay are given, is then the caller's to set."""
        self.bin = binary
        self.source = source
        self.persistence = persistence
        self.broker_conf = broker_conf
        self.work = tempfile.mkdtemp(prefix="turbotwin-it-")
        self.procs = []
        self.mq_port = free_port()
        self.http_port = free_port()
        self.broker = f"tcp://127.0.0.1:{self.mq_port}"
        self.api = f"http://127.0.0.1:{self.http_port}"
        self.serve_proc = None

    def __enter__(self):
        if not shutil.which("mosquitto") or not shutil.which("mosquitto_sub"):
            print("SKIP: mosquitto / mosquitto-clients not installed (apt-get install mosquitto mosquitto-clients)")
            sys.exit(SKIP)
        conf = os.path.join(self.work, "mosquitto.conf")
        if self.broker_conf:
            with open(conf, "w") as f:
                f.write(self.broker_conf(self))
            self.start_broker()
            return self
        with open(conf, "w") as f:
            f.write(f"listener {self.mq_port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nset_tcp_nodelay true\n")
            if self.persistence:
                os.makedirs(self.path("mq"), exist_ok=True)
                f.write(f"persistence true\npersistence_location {self.path('mq')}/\n")
                # Started as root, mosquitto drops to user "mosquitto", which cannot write here.
                if os.geteuid() == 0:
                    f.write("user root\n")
            else:
                f.write("persistence false\n")
        self.start_broker()
        return self

    def start_broker(self):
        self.mosquitto = self.spawn(["mosquitto", "-c", self.path("mosquitto.conf")], "mosquitto.log")
        if not wait_port(self.mq_port):
            raise RuntimeError("mosquitto did not start: " + self.log("mosquitto.log"))

    def stop_broker(self):
        """SIGTERM: with persistence, mosquitto saves its sessions and queues before it exits."""
        self.mosquitto.terminate()
        self.mosquitto.wait(10)

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if exc[0] is None:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print(f"(work folder kept for inspection: {self.work})")
            for name in ("serve.log", "mosquitto.log"):
                print(f"--- {name} (tail) ---\n{self.log(name)[-3000:]}")
        return False

    def spawn(self, argv, log_name, env=None):
        log = open(os.path.join(self.work, log_name), "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.procs.append(p)
        return p

    def log(self, name):
        try:
            with open(os.path.join(self.work, name), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def path(self, name):
        return os.path.join(self.work, name)

    def subscribe(self, topic, log_name, session_id=None):
        """mosquitto_sub -v on topic; returns a function reading the received lines. With
        `session_id`: a persistent session (-c -i), so the broker queues for it while it is away
        and mosquitto_sub reconnects by itself after a broker restart."""
        session = ["-c", "-i", session_id] if session_id else []
        p = self.spawn(["mosquitto_sub", "-p", str(self.mq_port), "-t", topic, "-q", "1", "-v", *session], log_name)
        time.sleep(0.3)
        # Whole lines only: a line still being written has no newline yet (the text's last piece).
        return lambda: [l for l in self.log(log_name).split("\n")[:-1] if l.strip()]

    def start_serve(self, *extra, env=None):
        """Starts serve (log: serve.log) and waits until /healthz answers. `env`: its whole
        environment (default: this process's)."""
        self.serve_proc = self.spawn([self.bin, "serve", "--broker", self.broker, "--http", f"127.0.0.1:{self.http_port}",
                                      "--data-dir", self.path("data"), *extra], "serve.log", env=env)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.serve_proc.poll() is not None:
                raise RuntimeError("serve exited: " + self.log("serve.log")[-2000:])
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("serve not healthy after 15 s")

    def wait_ready(self, timeout=60):
        """Waits until /readyz says ready: broker connected and, after a restart, the journal's
        entries from before it re-applied (REST current)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, body, _ = self.get("/readyz")
            if status == 200:
                return json.loads(body)
            time.sleep(0.1)
        raise AssertionError(f"serve not ready after {timeout} s: {body}")

    def stop_serve(self):
        self.serve_proc.send_signal(signal.SIGTERM)
        return self.serve_proc.wait(15)

    def kill_serve(self):
        """kill -9: no chance to flush anything."""
        self.serve_proc.kill()
        self.serve_proc.wait(10)

    def replay_async(self, data_file, *extra):
        """Starts `turbotwin replay` in the background (log: replay.log); returns the process."""
        return self.spawn([self.bin, "replay", data_file, "--broker", self.broker, "--quiet", *extra], "replay.log")

    def serve_config(self, name="turbotwin.json", **durability):
        """A config file like config/turbotwin.json (absolute paths) with these durability keys
        changed; pass it to start_serve("--config", path)."""
        with open(os.path.join(self.source, "config", "turbotwin.json")) as f:
            cfg = json.load(f)
        for key in ("model", "sensor_catalogue", "data_dir"):
            cfg[key] = os.path.normpath(os.path.join(self.source, "config", cfg[key]))
        cfg.setdefault("durability", {}).update(durability)
        path = self.path(name)
        with open(path, "w") as f:
            json.dump(cfg, f)
        return path

    def serve_log_matches(self, pattern):
        """Every match of the regex `pattern` in serve.log (all runs appended)."""
        return re.findall(pattern, self.log("serve.log"))

    def run(self, *argv, check=True, timeout=300):
        r = subprocess.run([self.bin, *argv], capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"turbotwin {' '.join(argv)} exited {r.returncode}: {r.stderr[-2000:]}")
        return r

    def get(self, path, method="GET", token=None, body=None):
        """One request; returns (status, body text, headers). `token`: sent as a bearer token;
        `body`: a dict sent as JSON."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.api + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read().decode(), dict(resp.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), dict(e.headers)

    def get_json(self, path):
        status, body, _ = self.get(path)
        return status, json.loads(body)

    def _all_pages(self, route, limit):
        items, cursor = [], None
        while True:
            q = f"{route}?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
            status, page = self.get_json(q)
            assert status == 200, (status, page)
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items

    def all_assets(self, limit=1000):
        return self._all_pages("/api/v1/assets", limit)

    def all_alerts(self, limit=1000):
        """Every alert on REST (newest first), following next_cursor."""
        return self._all_pages("/api/v1/alerts", limit)

    def publish(self, topic, payload, qos=1):
        """Publishes `payload` (bytes, sent exactly as given) with mosquitto_pub; returns once
        the broker has acknowledged it (QoS 1), so consecutive calls arrive in order."""
        r = subprocess.run(["mosquitto_pub", "-p", str(self.mq_port), "-q", str(qos), "-t", topic, "-s"],
                           input=payload, capture_output=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"mosquitto_pub to {topic[:80]!r} exited {r.returncode}: {r.stderr[-500:]!r}")

    def publish_lines(self, topic, lines, qos=1):
        """Publishes each line (bytes, no newline inside) as one message from one connection:
        a burst, as fast as the broker takes them."""
        data = b"".join(line + b"\n" for line in lines)
        r = subprocess.run(["mosquitto_pub", "-p", str(self.mq_port), "-q", str(qos), "-t", topic, "-l"],
                           input=data, capture_output=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"mosquitto_pub -l exited {r.returncode}: {r.stderr[-500:]!r}")

    def metrics(self):
        """GET /metrics parsed into {'name' or 'name{labels}': value}."""
        status, body, _ = self.get("/metrics")
        check(status == 200, f"/metrics answered {status}")
        return parse_prometheus(body)

    def raw_http(self, data, timeout=10.0):
        """Sends raw bytes on a fresh connection and reads one answer; see raw_exchange."""
        with socket.create_connection(("127.0.0.1", self.http_port), timeout=timeout) as s:
            return raw_exchange(s, data, timeout)


def parse_prometheus(text):
    """Prometheus text exposition -> {'name' or 'name{labels}': float}; comments skipped."""
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        values[key] = float(value)
    return values


class RawReply:
    """One HTTP answer read off a raw socket: status (None if the server closed without
    answering), lower-cased headers, body bytes, and whether the server closed afterwards."""

    def __init__(self, status, headers, body, closed):
        self.status, self.headers, self.body, self.closed = status, headers, body, closed

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"RawReply({self.status}, {self.body[:200]!r})"


def raw_exchange(sock, data, timeout=10.0):
    """Sends `data` (bytes; may be a partial or hostile request) and reads one response,
    framed by Content-Length. Sending stops early if the server stops reading (it may answer
    before taking a large body). Interim 100 responses are skipped."""
    sock.settimeout(timeout)
    try:
        sock.sendall(data)
    except OSError:
        pass  # answered and closed before taking everything: read what it said
    buf = b""
    closed = False
    while True:
        head_end = buf.find(b"\r\n\r\n")
        if head_end >= 0 and buf.startswith(b"HTTP/1.1 100 "):
            buf = buf[head_end + 4:]
            continue
        if head_end >= 0:
            lines = buf[:head_end].decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(buf) >= head_end + 4 + length:
                status = int(lines[0].split(" ")[1])
                body = buf[head_end + 4:head_end + 4 + length]
                if not closed and headers.get("connection", "").lower() == "close":
                    closed = peer_closed(sock)
                return RawReply(status, headers, body, closed)
        if closed:
            return RawReply(None, {}, buf, True)
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            closed = True
        buf += chunk


def peer_closed(sock, wait=2.0):
    """True if the server closes the connection within `wait` seconds (reads and drops any
    further bytes)."""
    sock.settimeout(wait)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


def split_by_life(path, first, second, fraction):
    """Writes each engine's first `fraction` of cycles of the C-MAPSS-format file `path` to
    `first` and the rest to `second`: a stream to stop and resume in the middle of every life."""
    rows = [l for l in open(path) if l.strip()]
    length = {}
    for l in rows:
        unit = l.split()[0]
        length[unit] = length.get(unit, 0) + 1
    with open(first, "w") as a, open(second, "w") as b:
        for l in rows:
            unit, cycle = l.split()[0], int(l.split()[1])
            (a if cycle <= int(length[unit] * fraction) else b).write(l)


def read_predict_csv(text):
    return {r["asset"]: r for r in csv.DictReader(io.StringIO(text))}


def wait_rest_equals_predict(stack, predicted, timeout=60):
    """Polls REST until every predicted engine is at its last cycle with identical numbers."""
    deadline = time.time() + timeout
    problem = "never fetched"
    while time.time() < deadline:
        assets = {a["id"]: a for a in stack.all_assets()}
        problem = compare(assets, predicted)
        if problem is None:
            return None
        time.sleep(0.3)
    return problem


def compare(assets, predicted):
    for asset, row in predicted.items():
        a = assets.get(asset)
        if a is None:
            return f"{asset} missing from REST"
        if a["last_cycle"] != int(row["cycle"]):
            return f"{asset} at cycle {a['last_cycle']}, predict ends at {row['cycle']}"
        for f in ("rul", "rul_lo", "rul_hi"):
            # Exact: both sides print round-trip doubles from the same code path.
            if float(a[f]) != float(row[f]):
                return f"{asset} {f}: REST {a[f]!r} != predict {row[f]!r}"
    return None


def wait_for(condition, timeout=30.0, interval=0.2):
    """Polls condition() until it holds or timeout seconds pass; returns whether it held. For
    waiting until something settles before the checks that judge it."""
    deadline = time.time() + timeout
    while True:
        if condition():
            return True
        if time.time() >= deadline:
            return False
        time.sleep(interval)


def wait_until(what, condition, timeout=30.0, interval=0.2):
    """Polls condition() until it returns something true, and returns that; fails the test
    ("timed out waiting for WHAT") when timeout seconds pass first. For waits that are checks."""
    deadline = time.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.time() >= deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def run_test(main):
    """Runs a test script's main(): a failed check prints FAILED and exits 1."""
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}")
        sys.exit(1)
