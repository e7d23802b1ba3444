"""`turbotwin loadgen` against the real stack, briefly (a smoke run: it asserts zero loss and a
sane report, not speed; docs/performance.md has the measurements):
- pass-through (broker only) and twin mode at a modest rate, QoS 1: every message answered once,
  the echoed "ts" equal to the one sent, latencies ordered p50 <= p90 <= p99 <= max;
- the twin really processed them: /metrics counts the readings, REST lists the engines with
  their last cycle;
- a run against a twin that is not there loses everything and says so (exit 3), so a lost
  message cannot pass unnoticed;
- tests/bench/mqtt_echo, the Paho-only ceiling `perf.py ceiling` measures, answers every message
  as the twin would (zero loss through it) and exits cleanly on SIGTERM;
- a usage error exits 2 with a message."""
import json
import signal

from harness import Stack, check, parse_args, run_test, wait_for

ASSETS = 50
RATE = 400
SECONDS = 2


def loadgen(stack, *extra, expect=0):
    r = stack.run("loadgen", "--broker", stack.broker, "--assets", str(ASSETS), "--rate", str(RATE), "--duration",
                  str(SECONDS), "--json", *extra, check=False, timeout=120)
    check(r.returncode == expect, f"loadgen {' '.join(extra)} exited {r.returncode} (expected {expect}): {r.stderr[-1500:]}")
    return json.loads(r.stdout) if r.stdout.strip() else None


def check_report(report, mode):
    sent = RATE * SECONDS
    check(report["mode"] == mode, f"mode {report['mode']}")
    check(report["sent"] == sent and report["publish_failures"] == 0, f"{mode}: sent {report['sent']} of {sent}")
    check(report["received"] == sent and report["lost"] == 0, f"{mode}: received {report['received']}, lost {report['lost']}")
    check(report["duplicates"] == 0 and report["ts_mismatches"] == 0, f"{mode}: {report}")
    lat = report["latency_ms"]
    check(0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"], f"{mode}: latency {lat}")
    check(report["achieved_rate"] > 0.9 * RATE, f"{mode}: achieved {report['achieved_rate']}/s of {RATE}/s")
    check(report["sustained"], f"{mode}: not sustained: {report}")


def main():
    args = parse_args()
    with Stack(args.bin, args.source) as stack:
        # No twin yet: pass-through works, twin mode loses everything and exits 3.
        check_report(loadgen(stack, "--passthrough"), "passthrough")
        nobody = loadgen(stack, "--drain", "0.5", expect=3)
        check(nobody["lost"] == nobody["sent"] == RATE * SECONDS and nobody["received"] == 0, f"no twin: {nobody}")

        # The Paho echo stands in for a twin: every message answered once, then a clean exit
        # (under the sanitizers a leak would make it non-zero). Stopped before serve starts, or
        # both would answer.
        echo = stack.spawn([args.echo, "--broker", stack.broker], "echo.log")
        wait_for(lambda: "ready" in stack.log("echo.log") or echo.poll() is not None, timeout=10, interval=0.05)
        check("ready" in stack.log("echo.log"), f"mqtt_echo did not start: {stack.log('echo.log')}")
        check_report(loadgen(stack, "--prefix", "EC-"), "twin")
        echo.send_signal(signal.SIGTERM)
        check(echo.wait(30) == 0, f"mqtt_echo exited {echo.returncode}: {stack.log('echo.log')[-1500:]}")
        check(f"echoed {RATE * SECONDS}, refused 0" in stack.log("echo.log"), f"mqtt_echo said: {stack.log('echo.log')}")

        stack.start_serve()
        before = stack.metrics().get("turbotwin_readings_applied_total", 0)
        report = loadgen(stack, "--qos", "1")
        check_report(report, "twin")
        applied = stack.metrics()["turbotwin_readings_applied_total"] - before
        check(applied == RATE * SECONDS, f"the twin applied {applied} readings, loadgen sent {RATE * SECONDS}")
        assets = [a for a in stack.all_assets() if a["id"].startswith("LG-")]
        check(len(assets) == ASSETS, f"REST lists {len(assets)} loadgen engines, expected {ASSETS}")
        check(all(a["readings"] >= RATE * SECONDS // ASSETS for a in assets), "every engine got its readings")

        r = stack.run("loadgen", "--broker", stack.broker, "--rate", "fast", check=False)
        check(r.returncode == 2 and "--rate" in r.stderr, f"bad --rate: exit {r.returncode}: {r.stderr}")
        print(f"loadgen smoke: passthrough and twin {RATE}/s x {SECONDS} s, {ASSETS} engines: nothing lost; "
              f"twin p50 {report['latency_ms']['p50']:.2f} ms p99 {report['latency_ms']['p99']:.2f} ms")


if __name__ == "__main__":
    run_test(main)
