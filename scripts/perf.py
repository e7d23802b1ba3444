#!/usr/bin/env python3
"""Performance measurements of issue 6, every figure beside its baseline from the same run.
docs/performance.md explains each and records the results.

    python3 scripts/perf.py --bin build/release/src/turbotwin [--only ceiling,throughput,memory,rest] [--json OUT]

- throughput: `loadgen --rate max` through the broker alone (--passthrough), then through the
  twin, QoS 1, alternated for --rounds rounds (default 3), the medians compared; then the twin
  at 50% and 90% of its median maximum for the latency figures.
- ceiling: the same rate searches, alternated, through the broker alone and through
  tests/bench/mqtt_echo (a Paho client with no twin in it: it receives each telemetry message at
  QoS 1 and republishes it as the RUL answer at QoS 0). No twin built on Paho can beat it, so its
  ratio to the pass-through bounds the throughput ratio on this machine.
- memory: ENGINES engines (default 100,000) streamed through a durable server; resident memory
  per engine beyond the model (RSS after, minus RSS at start with the model loaded); then a
  restart, timed until /readyz is ready with every engine restored.
- rest: `wrk` on GET /api/v1/assets/{id} while loadgen keeps ingest busy, against nginx serving
  that same JSON as a static file in the same run; ingest's loss and rate while it happens.

Starts its own Mosquitto, server and nginx on free loopback ports and stops them. Needs
mosquitto, wrk and nginx (Debian `wrk`, `nginx`)."""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http(url, timeout=60, ok=lambda status, body: status == 200):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                body = r.read()
                if ok(r.status, body):
                    return body
        except Exception:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {timeout} s")


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid):
    """User + system CPU time of a running process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


class Bench:
    def __init__(self, binary, work, serve_args=()):
        self.bin = os.path.abspath(binary)
        self.serve_args = list(serve_args)
        self.work = work
        self.procs = []
        self.mq_port = free_port()
        conf = os.path.join(work, "mosquitto.conf")
        with open(conf, "w") as f:
            # Large queues: the measurement must see the twin's limits, not the broker's drops.
            f.write(f"listener {self.mq_port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 1000000\nmax_inflight_messages 0\n"
                    # Nagle off, as config/mosquitto.conf.example advises: otherwise a QoS 0
                    # message waits for the subscriber's delayed ACK (p50 7 ms instead of 2.5 ms).
                    "set_tcp_nodelay true\n")
        self.broker = f"tcp://127.0.0.1:{self.mq_port}"
        self.mosquitto = self.spawn(["mosquitto", "-c", conf], "mosquitto.log")
        time.sleep(0.3)
        self.serve = None
        self.echo = None
        self.http_port = None

    def spawn(self, argv, log):
        p = subprocess.Popen(argv, stdout=open(os.path.join(self.work, log), "ab"), stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def start_serve(self, *extra, data="data"):
        self.http_port = free_port()
        t0 = time.time()
        self.serve = self.spawn([self.bin, "serve", "--broker", self.broker, "--http", f"127.0.0.1:{self.http_port}",
                                 "--data-dir", os.path.join(self.work, data), "--log-level", "warn", *self.serve_args, *extra],
                                "serve.log")
        wait_http(f"http://127.0.0.1:{self.http_port}/readyz", timeout=300)
        return time.time() - t0

    def start_echo(self, binary):
        self.echo = subprocess.Popen([binary, "--broker", self.broker], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.procs.append(self.echo)
        line = self.echo.stdout.readline()
        if "ready" not in line:
            raise RuntimeError(f"mqtt_echo did not start: {line}")

    def stop_echo(self):
        self.echo.send_signal(signal.SIGTERM)
        tail = self.echo.communicate(timeout=30)[0]
        self.echo = None
        return tail.strip()

    def stop_serve(self):
        self.serve.send_signal(signal.SIGTERM)
        self.serve.wait(120)

    def settle(self, timeout=180):
        """Waits until serve is idle (under 4% of a core over half a second, twice in a row): after
        the rate search overloaded it, its store and queues catch up first, so that a latency run
        measures that run's rate and not the previous trials' backlog. Returns the seconds waited."""
        if not self.serve or self.serve.poll() is not None:
            return 0.0
        t0, quiet = time.time(), 0
        last = cpu_seconds(self.serve.pid)
        while quiet < 2 and time.time() - t0 < timeout:
            time.sleep(0.5)
            now = cpu_seconds(self.serve.pid)
            quiet = quiet + 1 if now - last < 0.02 else 0
            last = now
        return time.time() - t0

    def loadgen(self, *args, timeout=900):
        """One loadgen run with its own engine ids (a twin refuses cycles it already has). Adds
        "prefix" and "cpu_us_per_message" (CPU time of loadgen, mosquitto and serve over the run,
        divided by the messages sent) to the report."""
        self.runs = getattr(self, "runs", 0) + 1
        prefix = f"R{self.runs}-"
        before = {"mosquitto": cpu_seconds(self.mosquitto.pid), "serve": cpu_seconds(self.serve.pid) if self.serve and self.serve.poll() is None else 0.0,
                  "echo": cpu_seconds(self.echo.pid) if self.echo else 0.0}
        children = os.times()
        r = subprocess.run([self.bin, "loadgen", "--broker", self.broker, "--json", "--prefix", prefix, *args], capture_output=True,
                           text=True, timeout=timeout)
        after_children = os.times()
        if r.returncode not in (0, 3):
            raise RuntimeError(f"loadgen {args} exited {r.returncode}: {r.stderr[-1500:]}")
        report = json.loads(r.stdout)
        report["prefix"] = prefix
        sent = report.get("sent") or sum(t["sent"] for t in report.get("trials", [])) or 1
        cpu = {"loadgen": (after_children.children_user + after_children.children_system) - (children.children_user + children.children_system),
               "mosquitto": cpu_seconds(self.mosquitto.pid) - before["mosquitto"]}
        if self.serve and self.serve.poll() is None:
            cpu["serve"] = cpu_seconds(self.serve.pid) - before["serve"]
        if self.echo:
            cpu["echo"] = cpu_seconds(self.echo.pid) - before["echo"]
        report["cpu_us_per_message"] = {k: v * 1e6 / sent for k, v in cpu.items()}
        return report

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()


def say(text):
    print(text, flush=True)


def search_args(args):
    """loadgen's arguments for one `--rate max` search (add --passthrough for the broker alone)."""
    return ["--assets", str(args.assets), "--qos", "1", "--duration", str(args.trial_seconds), "--rate", "max",
            "--start-rate", str(args.start_rate)]


def budget_run(b, args, mode, *extra):
    """One steady run at --budget-rate, and each process's CPU per message in it."""
    r = b.loadgen("--assets", str(args.assets), "--qos", "1", "--duration", str(args.latency_seconds), "--rate", str(args.budget_rate), *extra)
    say(f"{mode} at {args.budget_rate:.0f}/s: lost {r['lost']}, CPU us per message: "
        f"{', '.join(f'{k} {v:.0f}' for k, v in r['cpu_us_per_message'].items())}, total {sum(r['cpu_us_per_message'].values()):.0f}")
    return r


def ceiling(b, args, out):
    """Pass-through against mqtt_echo, alternated as throughput() alternates it with the twin."""
    echo_bin = args.echo or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.bin))), "tests", "bench", "mqtt_echo")
    if not os.path.exists(echo_bin):
        sys.exit(f"perf.py: {echo_bin} not found (built with -DTURBOTWIN_BUILD_TESTS=ON or -DTURBOTWIN_BUILD_BENCHMARKS=ON; or give --echo)")
    common = search_args(args)
    rounds = []
    for i in range(args.rounds):
        passthrough = b.loadgen(*common, "--passthrough")
        b.start_echo(echo_bin)
        echo = b.loadgen(*common)
        echo["echo_said"] = b.stop_echo()
        rounds.append({"passthrough": passthrough, "echo": echo})
        p_max, e_max = passthrough["max_sustained_rate"], echo["max_sustained_rate"]
        say(f"ceiling round {i + 1}: pass-through {p_max:.0f}/s, Paho echo {e_max:.0f}/s, ratio {e_max / p_max if p_max else 0:.2f}")
    p_rates = sorted(r["passthrough"]["max_sustained_rate"] for r in rounds)
    e_rates = sorted(r["echo"]["max_sustained_rate"] for r in rounds)
    out["ceiling"] = {"rounds": rounds, "passthrough_max_rate": statistics.median(p_rates), "echo_max_rate": statistics.median(e_rates)}
    c = out["ceiling"]
    c["echo_to_passthrough"] = c["echo_max_rate"] / c["passthrough_max_rate"] if c["passthrough_max_rate"] else 0
    say(f"ceiling (QoS 1, {args.assets} engines, {args.rounds} rounds): pass-through median {c['passthrough_max_rate']:.0f}/s "
        f"({', '.join(f'{r:.0f}' for r in p_rates)}), Paho echo median {c['echo_max_rate']:.0f}/s ({', '.join(f'{r:.0f}' for r in e_rates)}), "
        f"ratio of the medians {c['echo_to_passthrough']:.2f}")
    # Where the CPU goes at one steady rate, per process: the same rate for all three modes
    # (throughput() runs the twin at it), below every mode's maximum.
    c["passthrough_at_budget_rate"] = budget_run(b, args, "passthrough", "--passthrough")
    b.start_echo(echo_bin)
    c["echo_at_budget_rate"] = budget_run(b, args, "echo")
    b.stop_echo()


def throughput(b, args, out):
    b.start_serve(*(["--no-durability"] if args.no_durability else []))
    common = search_args(args)
    # On two cores shared by generator, broker and server, one rate search moves by +-20% from
    # run to run (the generator is the first to run short of CPU). Rounds alternate the two
    # modes, so that a slow spell of the machine hits both, and the medians are compared.
    rounds = []
    for i in range(args.rounds):
        passthrough = b.loadgen(*common, "--passthrough")
        b.settle()
        twin = b.loadgen(*common)
        b.settle()
        rounds.append({"passthrough": passthrough, "twin": twin})
        p_max, t_max = passthrough["max_sustained_rate"], twin["max_sustained_rate"]
        say(f"round {i + 1}: pass-through {p_max:.0f}/s, twin {t_max:.0f}/s, ratio {t_max / p_max if p_max else 0:.2f}")
        for t in passthrough["trials"] + twin["trials"]:
            say(f"  {t['mode']:11s} {t['target_rate']:8.0f}/s sent {t['achieved_rate']:8.0f}/s lost {t['lost']:6d} "
                f"p99 {t['latency_ms']['p99']:8.2f} ms drain {t['drain_seconds']:.2f} s {'ok' if t['sustained'] else 'NOT sustained'}")
    p_rates = sorted(r["passthrough"]["max_sustained_rate"] for r in rounds)
    t_rates = sorted(r["twin"]["max_sustained_rate"] for r in rounds)
    out["rounds"] = rounds
    out["passthrough_max_rate"] = statistics.median(p_rates)
    out["twin_max_rate"] = statistics.median(t_rates)
    out["twin_to_passthrough"] = out["twin_max_rate"] / out["passthrough_max_rate"] if out["passthrough_max_rate"] else 0
    say(f"throughput (QoS 1, {args.assets} engines, {args.rounds} rounds): pass-through median {out['passthrough_max_rate']:.0f}/s "
        f"({', '.join(f'{r:.0f}' for r in p_rates)}), twin median {out['twin_max_rate']:.0f}/s ({', '.join(f'{r:.0f}' for r in t_rates)}), "
        f"ratio of the medians {out['twin_to_passthrough']:.2f}")
    b.settle()
    out["twin_at_budget_rate"] = budget_run(b, args, "twin")
    base = out["twin_max_rate"]
    for share in (0.5, 0.9):
        rate = round(base * share)
        if rate <= 0:
            continue
        for mode in ("twin", "passthrough"):
            waited = b.settle()
            r = b.loadgen("--assets", str(args.assets), "--qos", "1", "--duration", str(args.latency_seconds), "--rate", str(rate),
                          *(["--passthrough"] if mode == "passthrough" else []))
            r["settled_seconds"] = waited
            out[f"{mode}_at_{int(share * 100)}pct"] = r
            cpu = ", ".join(f"{k} {v:.0f}" for k, v in r["cpu_us_per_message"].items())
            say(f"{mode} at {int(share * 100)}% of the twin's max ({rate}/s): lost {r['lost']}, latency ms p50 "
                f"{r['latency_ms']['p50']:.2f} p90 {r['latency_ms']['p90']:.2f} p99 {r['latency_ms']['p99']:.2f} max {r['latency_ms']['max']:.2f}; "
                f"CPU us per message: {cpu} (serve idle {waited:.1f} s before)")
    b.stop_serve()


def memory(b, args, out):
    engines = args.engines
    b.start_serve(data="data-memory")
    time.sleep(1)
    rss0 = rss_kib(b.serve.pid)
    per_round = engines / args.memory_rate
    duration = per_round * args.memory_rounds
    r = b.loadgen("--assets", str(engines), "--rate", str(args.memory_rate), "--duration", f"{duration:.1f}", "--drain", "60")
    # Let the store's batch writer catch up, so what is measured is the steady state.
    time.sleep(3)
    rss1 = rss_kib(b.serve.pid)
    fleet = get_json(f"http://127.0.0.1:{b.http_port}/api/v1/fleet")
    per_engine = (rss1 - rss0) * 1024 / engines
    out["memory"] = {"engines": engines, "readings": r["sent"], "lost": r["lost"], "rss_start_kib": rss0, "rss_kib": rss1,
                     "bytes_per_engine": per_engine, "fleet_assets": fleet.get("assets")}
    say(f"memory: {engines} engines ({r['sent']} readings, lost {r['lost']}): RSS {rss0 / 1024:.0f} MiB at start with the model, "
        f"{rss1 / 1024:.0f} MiB after: {per_engine:.0f} bytes per engine")
    b.stop_serve()
    restart = b.start_serve(data="data-memory")
    # Ready means restored; check the count to be sure.
    fleet = get_json(f"http://127.0.0.1:{b.http_port}/api/v1/fleet")
    rss2 = rss_kib(b.serve.pid)
    out["restart"] = {"seconds_to_ready": restart, "assets_restored": fleet.get("assets"), "rss_kib": rss2,
                      "bytes_per_engine": (rss2 - rss0) * 1024 / engines}
    say(f"restart: ready in {restart:.2f} s with {fleet.get('assets')} engines restored; RSS {rss2 / 1024:.0f} MiB "
        f"({(rss2 - rss0) * 1024 / engines:.0f} bytes per engine)")
    b.stop_serve()


def wrk(url, seconds, threads=1, connections=32):
    r = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency", url],
                       capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", r.stdout)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", r.stdout)
    scale = {"us": 0.001, "ms": 1, "s": 1000}
    return {"rps": float(m.group(1)) if m else 0.0, "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else None}


def rest(b, args, out):
    b.start_serve(*(["--no-durability"] if args.no_durability else []))
    # A fleet to read, then ingest kept busy while wrk reads one engine.
    fleet = b.loadgen("--assets", "1000", "--rate", "5000", "--duration", "2")
    asset = fleet["prefix"] + "000001"
    with urllib.request.urlopen(f"http://127.0.0.1:{b.http_port}/api/v1/assets/{asset}") as r:
        body = r.read()
    site = os.path.join(b.work, "site")
    os.makedirs(site, exist_ok=True)
    # nginx started as root serves as its unprivileged user: let it read the page.
    os.chmod(b.work, 0o755)
    os.chmod(site, 0o755)
    with open(os.path.join(site, "asset.json"), "wb") as f:
        f.write(body)
    os.chmod(os.path.join(site, "asset.json"), 0o644)
    nginx_port = free_port()
    conf = os.path.join(b.work, "nginx.conf")
    with open(conf, "w") as f:
        # One worker, as the server's HTTP side gets one thread's worth of a 2-core box.
        f.write(f"""worker_processes 1;
error_log {b.work}/nginx-error.log;
pid {b.work}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  default_type application/json;
  client_body_temp_path {b.work}/nginx-tmp; proxy_temp_path {b.work}/nginx-tmp; fastcgi_temp_path {b.work}/nginx-tmp;
  uwsgi_temp_path {b.work}/nginx-tmp; scgi_temp_path {b.work}/nginx-tmp;
  server {{ listen 127.0.0.1:{nginx_port}; root {site}; }}
}}
""")
    os.makedirs(os.path.join(b.work, "nginx-tmp"), exist_ok=True)
    b.spawn(["nginx", "-c", conf, "-g", "daemon off;"], "nginx.log")
    wait_http(f"http://127.0.0.1:{nginx_port}/asset.json")
    ingest_rate = args.rest_ingest_rate
    results = {}
    for name, url in (("nginx", f"http://127.0.0.1:{nginx_port}/asset.json"),
                      ("turbotwin", f"http://127.0.0.1:{b.http_port}/api/v1/assets/{asset}")):
        load = subprocess.Popen([b.bin, "loadgen", "--broker", b.broker, "--json", "--prefix", f"W{name}-", "--assets", "1000", "--rate", str(ingest_rate),
                                 "--duration", str(args.rest_seconds + 2)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        results[name] = wrk(url, args.rest_seconds)
        so, se = load.communicate(timeout=120)
        results[name]["ingest"] = json.loads(so) if so.strip() else {"error": se[-500:]}
    out["rest"] = {"body_bytes": len(body), "ingest_rate": ingest_rate, **results,
                   "ratio": results["turbotwin"]["rps"] / results["nginx"]["rps"] if results["nginx"]["rps"] else 0}
    for name, r in results.items():
        ing = r["ingest"]
        say(f"rest {name}: {r['rps']:.0f} requests/s (p99 {r['p99_ms']} ms, non-2xx {r['non_2xx']}) with ingest at "
            f"{ing.get('achieved_rate', 0):.0f}/s, lost {ing.get('lost')}, ingest p99 {ing.get('latency_ms', {}).get('p99', 0):.2f} ms")
    say(f"rest: turbotwin / nginx = {out['rest']['ratio']:.2f} ({len(body)}-byte body)")
    b.stop_serve()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--only", default="ceiling,throughput,memory,rest")
    ap.add_argument("--echo", help="mqtt_echo binary for the ceiling part (default: beside --bin's build, tests/bench/mqtt_echo)")
    ap.add_argument("--json", help="write every figure to this file")
    ap.add_argument("--serve-config", help="config file for serve (e.g. durability.readings false, to measure what storing readings costs)")
    ap.add_argument("--assets", type=int, default=10000, help="engines in the throughput runs")
    ap.add_argument("--trial-seconds", type=float, default=5)
    ap.add_argument("--start-rate", type=float, default=4000)
    ap.add_argument("--rounds", type=int, default=3, help="rate searches per mode, alternated; the medians are compared")
    ap.add_argument("--latency-seconds", type=float, default=10)
    ap.add_argument("--budget-rate", type=float, default=4000, help="steady rate at which each mode's CPU per message is measured")
    ap.add_argument("--engines", type=int, default=100000, help="engines in the memory run")
    ap.add_argument("--memory-rate", type=float, default=10000)
    ap.add_argument("--memory-rounds", type=int, default=2, help="readings per engine in the memory run")
    ap.add_argument("--rest-seconds", type=int, default=10)
    ap.add_argument("--rest-ingest-rate", type=float, default=2000)
    ap.add_argument("--no-durability", action="store_true", help="throughput and REST runs without the journal and store")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    ap.add_argument("--workers", type=int, help="serve --workers N (default: the config's)")
    args = ap.parse_args()
    for tool in ("mosquitto", "wrk", "nginx"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"perf.py: {tool} not found (apt-get install mosquitto wrk nginx)")
    work = tempfile.mkdtemp(prefix="turbotwin-perf-")
    out = {"machine": {"cpus": os.cpu_count(), "model": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")}}
    serve_args = (["--workers", str(args.workers)] if args.workers else []) + (["--config", args.serve_config] if args.serve_config else [])
    b = Bench(args.bin, work, serve_args)
    try:
        for part in args.only.split(","):
            {"ceiling": ceiling, "throughput": throughput, "memory": memory, "rest": rest}[part](b, args, out)
    finally:
        b.close()
        if args.keep:
            say(f"logs in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
