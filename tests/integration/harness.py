"""Shared harness for integration tests: a private Mosquitto and `turbotwin serve` on free
loopback ports, real HTTP, real MQTT (mosquitto_sub), cleaned up on exit.

Exit code 77 means skipped (CTest SKIP_RETURN_CODE)."""
import argparse
import csv
import io
import json
import os
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
    return ap.parse_args()


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

    def __init__(self, binary, source):
        self.bin = binary
        self.source = source
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
        with open(conf, "w") as f:
            f.write(f"listener {self.mq_port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\npersistence false\n")
        self.mosquitto = self.spawn(["mosquitto", "-c", conf], "mosquitto.log")
        if not wait_port(self.mq_port):
            raise RuntimeError("mosquitto did not start: " + self.log("mosquitto.log"))
        return self

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

    def spawn(self, argv, log_name):
        log = open(os.path.join(self.work, log_name), "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
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

    def subscribe(self, topic, log_name):
        """mosquitto_sub -v on topic; returns a function reading the received lines."""
        p = self.spawn(["mosquitto_sub", "-p", str(self.mq_port), "-t", topic, "-q", "1", "-v"], log_name)
        time.sleep(0.3)
        return lambda: [l for l in self.log(log_name).splitlines() if l.strip()]

    def start_serve(self, *extra):
        self.serve_proc = self.spawn([self.bin, "serve", "--broker", self.broker, "--http", f"127.0.0.1:{self.http_port}",
                                      "--data-dir", self.path("data"), *extra], "serve.log")
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

    def stop_serve(self):
        self.serve_proc.send_signal(signal.SIGTERM)
        return self.serve_proc.wait(15)

    def run(self, *argv, check=True, timeout=300):
        r = subprocess.run([self.bin, *argv], capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"turbotwin {' '.join(argv)} exited {r.returncode}: {r.stderr[-2000:]}")
        return r

    def get(self, path, method="GET"):
        req = urllib.request.Request(self.api + path, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read().decode(), dict(resp.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), dict(e.headers)

    def get_json(self, path):
        status, body, _ = self.get(path)
        return status, json.loads(body)

    def all_assets(self, limit=1000):
        items, cursor = [], None
        while True:
            q = f"/api/v1/assets?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
            status, page = self.get_json(q)
            assert status == 200, (status, page)
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items


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


def check(cond, message):
    if not cond:
        raise AssertionError(message)
