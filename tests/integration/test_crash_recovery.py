"""kill -9 of serve in the middle of a paced replay, then a restart on the same data dir.

The broker keeps serve's persistent session while it is down; what serve had acknowledged is in
its ingest journal. After the replay, every engine equals `predict` and applied each cycle
exactly once, and the alerts on REST equal those of an uninterrupted run. The journal is given
small segments, so that it rotates and is released by checkpoints while the crash happens."""
import time

from durability import alerts_by_id, make_fleet, wait_exactly_predict
from harness import Stack, check, parse_args, run_test


def uninterrupted_alerts(args, engines, seed):
    """The alerts of a run without faults: the reference."""
    with Stack(args.bin, args.source) as st:
        fleet, _, predicted = make_fleet(st, engines, seed)
        st.start_serve()
        st.run("replay", fleet, "--broker", st.broker, "--speed", "max", "--quiet")
        problem = wait_exactly_predict(st, predicted)
        check(problem is None, f"reference run: {problem}")
        return alerts_by_id(st.all_alerts())


def main():
    args = parse_args()
    engines, seed = 16, 11
    reference = uninterrupted_alerts(args, engines, seed)
    check(len(reference) > 0, "the reference run raised no alert")

    with Stack(args.bin, args.source) as st:
        fleet, rows, predicted = make_fleet(st, engines, seed)
        config = st.serve_config(journal_segment_bytes=65536, commit_interval_ms=100)
        st.start_serve("--config", config)
        speed = 900
        replay = st.replay_async(fleet, "--speed", str(speed))
        # Crash once the store has committed some twins (not after a fixed time: a loaded CI
        # machine, under the sanitizers, may take longer than that to start the replay).
        deadline = time.time() + 30
        while time.time() < deadline and st.metrics().get("turbotwin_store_records_total", 0) < 16:
            time.sleep(0.05)
        check(st.metrics().get("turbotwin_store_records_total", 0) >= 16, "nothing was stored within 30 s of the replay's start")
        check(replay.poll() is None, "the replay ended before the crash")
        st.kill_serve()
        time.sleep(0.5)  # the broker queues for the absent session meanwhile
        st.start_serve("--config", config)
        check(replay.wait(60) == 0, "replay failed: " + st.log("replay.log")[-500:])

        problem = wait_exactly_predict(st, predicted)
        check(problem is None, f"after kill -9: {problem}")
        restored = st.serve_log_matches(r"restored (\d+) engines and (\d+) alert changes .*re-applying (\d+) journal entries")
        check(len(restored) == 2, f"expected two starts in serve.log, found {restored}")
        twins, _, replayed = map(int, restored[1])
        check(twins > 0, "the restart found no stored twin: nothing was committed before the crash")
        print(f"{rows} rows at {speed}/s, kill -9 once twins were stored: restart restored {twins} engines and "
              f"re-applied {replayed} journal entries; {engines} engines identical to predict")

        alerts = alerts_by_id(st.all_alerts())
        check(set(alerts) == set(reference), f"alert ids differ from an uninterrupted run: "
                                             f"{sorted(set(alerts) ^ set(reference))[:6]}")
        for alert_id, want in reference.items():
            # The runs read different config files (durability settings), so the config hash in
            # the provenance differs; everything else, model and code included, must not.
            got, want = dict(alerts[alert_id]), dict(want)
            got["provenance"] = {k: v for k, v in got["provenance"].items() if k != "config_hash"}
            want["provenance"] = {k: v for k, v in want["provenance"].items() if k != "config_hash"}
            check(got == want, f"alert {alert_id}: {got} != uninterrupted {want}")
        print(f"alerts: {len(alerts)} on REST, identical to an uninterrupted run")

        # Segments are released by the batch writer's next checkpoint (every 200 ms), which may
        # come a moment after REST caught up (later still under the sanitizers).
        deadline = time.time() + 10
        while time.time() < deadline and st.metrics().get("turbotwin_journal_segments", 99) > 3:
            time.sleep(0.2)
        m = st.metrics()
        check(m.get("turbotwin_journal_segments", 99) <= 3,
              f"journal not released 10 s after catching up: {m.get('turbotwin_journal_segments')} segments")
        check(st.stop_serve() == 0, "serve did not exit 0 on SIGTERM")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    run_test(main)
