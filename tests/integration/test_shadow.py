"""Shadow models through the real server: a candidate model runs beside the active one on the
live stream (a real broker), publishing nothing; its estimates are stored and compared
(GET /api/v1/models/shadow/report and `turbotwin shadow-report`); it is promoted under live
ingest with no reading lost (every engine then equals `predict` with the candidate, its whole
history included), the promotion survives a restart, and a rollback brings the previous model
back the same way. Promotion and rollback need an operator and are audited."""
import json
import os
from time import monotonic, sleep

from harness import Stack, check, parse_args, read_predict_csv, run_test, split_by_life, wait_for, wait_rest_equals_predict

OPERATOR = "op-" + os.urandom(12).hex()
SHIFT = 15.0  # the candidate predicts this many cycles more (base score), so it alerts later


def main():
    args = parse_args()
    with Stack(args.bin, args.source) as st:
        env = dict(os.environ, TURBOTWIN_API_TOKENS=f"operator:{OPERATOR}")
        model = json.load(open(os.path.join(args.source, "models/fd001.json")))
        model["trees"]["base_score"] += SHIFT
        model["name"] = "fd001_late"
        candidate = st.path("late.json")
        json.dump(model, open(candidate, "w"))

        fleet = st.path("fleet.txt")
        st.run("simulate", "--engines", "8", "--seed", "11", "--cut-short-fraction", "0", "--out", fleet)
        original = read_predict_csv(st.run("predict", fleet).stdout)
        late = read_predict_csv(st.run("predict", fleet, "--model", candidate).stdout)
        split_by_life(fleet, st.path("part1.txt"), st.path("part2.txt"), 0.5)

        st.start_serve("--shadow-model", candidate, env=env)
        st.run("replay", st.path("part1.txt"), "--broker", st.broker, "--speed", "max", "--quiet")
        st.wait_ready()
        # Every engine applied before the restart (replay returns once the broker has the
        # readings, not once serve applied them).
        deadline = monotonic() + 30
        while monotonic() < deadline and len(st.get_json("/api/v1/assets?limit=100")[1]["items"]) < len(original):
            sleep(0.1)
        status, models = st.get_json("/api/v1/models")
        check(models["active"]["model"] == "fd001_c130" and models["shadow"]["model"] == "fd001_late" and models["audit"] == [],
              f"models: {models}")
        # Restart: the shadow twins are rebuilt from the stored readings (not from snapshots).
        check(st.stop_serve() == 0, "serve did not exit 0")
        st.start_serve("--shadow-model", candidate, env=env)
        check(st.serve_log_matches(r"shadow model: 8 of 8 restored engines rebuilt"), "shadow twins not rebuilt at start-up")
        rul_log = st.subscribe("turbotwin/v1/engines/+/rul", "rul.log")

        # Promote under live ingest: the second half streams while each shard switches.
        status, _, _ = st.get("/api/v1/models/promote", "POST")
        check(status == 401, f"promote without a token: {status}")
        replay = st.replay_async(st.path("part2.txt"), "--speed", "1000", "--interleave")
        import time
        time.sleep(0.2)
        status, text, _ = st.get("/api/v1/models/promote", "POST", token=OPERATOR)
        check(status == 200, f"promote: {status} {text}")
        promoted = json.loads(text)
        check(promoted["action"] == "promote" and promoted["to"]["model"] == "fd001_late" and promoted["engines"] == 8
              and promoted["fresh_engines"] == 0 and promoted["by"].startswith("operator"), f"promotion {promoted}")
        check(replay.wait(120) == 0, "replay failed")
        problem = wait_rest_equals_predict(st, late)
        check(problem is None, f"after promotion every engine must equal predict with the candidate: {problem}")
        status, metrics, _ = st.get("/metrics")
        applied = [l.split()[-1] for l in metrics.splitlines() if l.startswith("turbotwin_readings_applied_total")]
        rows = sum(1 for l in open(st.path("part2.txt")) if l.strip())
        check(applied and int(float(applied[0])) == rows, f"readings applied since the restart {applied} != {rows} streamed")
        print(f"promoted under live ingest: all 8 engines equal predict --model late.json; {applied[0]} of {rows} rows streamed applied")
        # The RUL messages after the switch name the candidate (once the subscriber's log has them).
        model_names = lambda: {json.loads(l.split(" ", 1)[1])["provenance"]["model"] for l in rul_log()}
        wait_for(lambda: "fd001_late" in model_names())
        names = model_names()
        check("fd001_late" in names, f"RUL messages after promotion name {names}")

        # Compare while the previous model shadows the promoted one; a failure is ground truth.
        longest = max(original, key=lambda k: int(original[k]["cycle"]))  # the most readings after the switch
        status, a = st.get_json(f"/api/v1/assets/{longest}")
        status, text, _ = st.get(f"/api/v1/assets/{longest}/events", "POST", token=OPERATOR,
                                 body={"type": "failure", "cycle": a["last_cycle"] + 1, "note": "in-flight shutdown"})
        check(status == 201, f"failure event: {status} {text}")
        check(st.stop_serve() == 0, "serve did not exit 0")

        # Restart without --shadow-model: the promotion holds, the previous model shadows it.
        st.start_serve(env=env)
        status, models = st.get_json("/api/v1/models")
        check(models["active"]["model"] == "fd001_late" and models["shadow"]["model"] == "fd001_c130" and models["rollback_available"]
              and models["audit"][0]["action"] == "promote", f"after restart: {json.dumps(models)[:600]}")
        problem = wait_rest_equals_predict(st, {k: v for k, v in late.items() if k != longest})
        check(problem is None, f"after restart the promoted model serves: {problem}")
        status, report = st.get_json("/api/v1/models/shadow/report")
        d, g = report["disagreement"], report["ground_truth"]
        # Shadow = the previous model now: it predicts SHIFT fewer cycles (less where RUL clips at 0).
        check(status == 200 and report["engines"] >= 1 and -SHIFT - 1e-6 <= d["mean_shadow_minus_active"] < -SHIFT + 1.0,
              f"report disagreement {d}")
        check(g["engines"] == 1 and g["per_engine"][0]["asset"] == longest and g["shadow_rmse"] < g["active_rmse"],
              f"ground truth {g}")
        w = report["alerts"]["warning"]
        check(w["earlier"] + w["only_shadow"] >= 1 and w["later"] == 0, f"the previous model warns earlier: {report['alerts']}")
        print(f"shadow report: {report['readings']} readings, shadow - active {d['mean_shadow_minus_active']:.2f} cycles; "
              f"warnings {w}; {longest} RMSE active {g['active_rmse']:.2f} vs shadow {g['shadow_rmse']:.2f}")

        # Rollback: the previous model's twins ran all along, so every engine equals plain predict.
        status, text, _ = st.get("/api/v1/models/rollback", "POST", token=OPERATOR)
        check(status == 200 and json.loads(text)["to"]["model"] == "fd001_c130", f"rollback: {status} {text}")
        problem = wait_rest_equals_predict(st, {k: v for k, v in original.items() if k != longest})
        check(problem is None, f"after rollback: {problem}")
        status, text, _ = st.get("/api/v1/models/rollback", "POST", token=OPERATOR)
        check(status == 409, f"a second rollback: {status} {text}")
        status, models = st.get_json("/api/v1/models")
        check([a["action"] for a in models["audit"][:2]] == ["rollback", "promote"], f"audit {models['audit']}")
        check(st.stop_serve() == 0, "serve did not exit 0")

        r = st.run("shadow-report", "--data-dir", st.path("data"), "--json")
        cli = json.loads(r.stdout)
        check(cli["shadow"]["model_hash"] == models["shadow"]["model_hash"] and cli["engines"] >= 1, f"shadow-report: {r.stdout[:400]}")
        print("promotion and rollback audited; shadow-report from the data dir agrees")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    run_test(main)
