"""Learning from the fleet's own failures, through the real server.

A simulated fleet wearing 1.3x as fast as the training fleet is replayed into `serve`; an operator
records most engines' failures (and a few removals) over REST. While serve still runs,
`train --from-store` reads the data dir: with too few failures it refuses and says how many it
has; with --recalibrate-only it keeps the shipped model's trees and recalibrates its intervals on
those failures. On other fast-wearing engines (held out, cut at random points like the official
test sets) the new model's 90% intervals cover the truth closer to 90% than the shipped model's,
with the very same point estimates. A refit on the failures alone also gives a model `predict` loads."""
import csv
import os
import sqlite3
import time

from harness import Stack, check, parse_args, read_predict_csv, run_test, wait_until

OPERATOR = "op-" + os.urandom(12).hex()
WEAR_RATE = "1.3"
LEARNING_ENGINES = 25
REMOVED = 3  # the last few engines are removed, not failed: censored, not learnt from


def read_truth(path):
    return {int(r["unit"]): r for r in csv.DictReader(open(path))}


def coverage(predicted, truth):
    """Share of engines whose interval holds the true RUL at their last cycle, and the RMSE."""
    inside, squared = 0, 0.0
    for asset, row in predicted.items():
        t = int(truth[int(asset.rsplit("-", 1)[1])]["true_rul_at_last_cycle"])
        inside += float(row["rul_lo"]) <= t <= float(row["rul_hi"])
        squared += (float(row["rul"]) - t) ** 2
    return inside / len(predicted), (squared / len(predicted)) ** 0.5


def main():
    args = parse_args()
    started = time.time()
    with Stack(args.bin, args.source) as st:
        model = os.path.join(args.source, "models", "fd001.json")
        learn, learn_truth = st.path("learn.txt"), st.path("learn-truth.csv")
        st.run("simulate", "--engines", str(LEARNING_ENGINES), "--seed", "31", "--cut-short-fraction", "0", "--wear-rate", WEAR_RATE,
               "--out", learn, "--truth", learn_truth)
        truth = read_truth(learn_truth)
        st.start_serve(env=dict(os.environ, TURBOTWIN_API_TOKENS=f"operator:{OPERATOR}"))
        st.run("replay", learn, "--broker", st.broker, "--speed", "max", "--quiet")
        wait_until("every engine at its last cycle on REST", lambda: len(st.all_assets()) == LEARNING_ENGINES and all(
            a["last_cycle"] == int(truth[int(a["id"].rsplit("-", 1)[1])]["last_cycle"]) for a in st.all_assets()))

        # Each engine ran to failure at its last cycle; the last few are recorded as removed.
        for unit, row in sorted(truth.items()):
            kind = "removal" if unit > LEARNING_ENGINES - REMOVED else "failure"
            status, body, _ = st.get(f"/api/v1/assets/ENG-{unit:03d}/events", "POST", token=OPERATOR,
                                     body={"type": kind, "cycle": int(row["last_cycle"]), "note": "test"})
            check(status == 201, f"event for unit {unit}: {status} {body}")
        db_path = st.path("data/turbotwin.db")

        def events_stored():
            db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
            try:
                return db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == LEARNING_ENGINES
            finally:
                db.close()
        wait_until("the events in the store", events_stored)
        failures = LEARNING_ENGINES - REMOVED

        # Too few failures for what is asked: refused, with both numbers. serve is still running.
        too_few = st.run("train", "--from-store", st.path("data"), "--recalibrate-only", "--model", model, "--out", st.path("never.json"),
                         "--min-failures", str(failures + 1), check=False)
        check(too_few.returncode == 2 and f"has {failures} recorded failures" in too_few.stderr and f"at least {failures + 1}" in too_few.stderr,
              f"too few failures: exit {too_few.returncode}: {too_few.stderr[-600:]}")
        check(not os.path.exists(st.path("never.json")), "a refused train wrote a model")

        learnt = st.path("learnt.json")
        r = st.run("train", "--from-store", st.path("data"), "--recalibrate-only", "--model", model, "--out", learnt)
        check(f"{failures} recorded failures" in r.stderr and f"not used: {REMOVED} removed" in r.stderr,
              f"train's summary: {r.stderr[-800:]}")
        check(st.serve_proc.poll() is None, "serve stopped while train read its store")
        print(f"train --from-store --recalibrate-only while serve runs: {failures} failures used, {REMOVED} removals censored")

        # Held out: other fast-wearing engines, each cut at a random point with its true RUL.
        held, held_truth = st.path("held.txt"), st.path("held-truth.csv")
        st.run("simulate", "--engines", "150", "--seed", "32", "--cut-short-fraction", "1", "--wear-rate", WEAR_RATE, "--out", held,
               "--truth", held_truth)
        truth_held = read_truth(held_truth)
        before = read_predict_csv(st.run("predict", held, "--model", model).stdout)
        after = read_predict_csv(st.run("predict", held, "--model", learnt).stdout)
        check(len(after) == 150, f"predict with the learnt model gave {len(after)} engines")
        check(all(before[a]["rul"] == after[a]["rul"] for a in before), "recalibration changed a point estimate")
        cov_before, rmse_before = coverage(before, truth_held)
        cov_after, rmse_after = coverage(after, truth_held)
        print(f"held-out fast engines: 90% coverage {cov_before:.3f} -> {cov_after:.3f} (RMSE {rmse_before:.2f} -> {rmse_after:.2f})")
        check(abs(cov_after - 0.9) < abs(cov_before - 0.9), f"coverage did not move toward 0.9: {cov_before:.3f} -> {cov_after:.3f}")

        # A refit on the failures alone (small and quick here) writes a model predict loads.
        refit = st.path("refit.json")
        st.run("train", "--from-store", st.path("data"), "--rounds", "40", "--calibration-folds", "3", "--out", refit)
        refit_rows = read_predict_csv(st.run("predict", held, "--model", refit).stdout)
        check(len(refit_rows) == 150, f"predict with the refit model gave {len(refit_rows)} engines")
        cov_refit, rmse_refit = coverage(refit_rows, truth_held)
        print(f"refit on the {failures} failures alone (40 rounds): coverage {cov_refit:.3f}, RMSE {rmse_refit:.2f}")
        check(st.stop_serve() == 0, "serve did not exit 0")
    print(f"1 passed, 0 failed ({time.time() - started:.0f} s)")


if __name__ == "__main__":
    run_test(main)
