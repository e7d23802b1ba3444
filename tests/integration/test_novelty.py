"""Honest uncertainty on engines unlike the training fleet. Train on simulated engines with
FD001's fault signature, then run engines whose wear moves other sensors in other directions
(a different fault): their 90% intervals must still cover the truth about 90% of the time, or
the engines must be flagged "confidence": "low"."""
import csv
import io
import json
import tempfile

from harness import check, parse_args, run_test
import subprocess
import os


def run(binary, *argv):
    r = subprocess.run([binary, *argv], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"turbotwin {' '.join(argv)} exited {r.returncode}: {r.stderr[-1500:]}")
    return r.stdout


def main():
    args = parse_args()
    work = tempfile.mkdtemp(prefix="turbotwin-novelty-")
    params = json.load(open(os.path.join(args.source, "models", "simulator.json")))
    # A different fault: the HPC temperatures and pressures drift the other way, the fan-side
    # sensors drift three times as far, and the bleed sensors not at all.
    other = json.loads(json.dumps(params))
    for s in other["sensors"]:
        if s["name"] in ("T30", "T50", "P30", "Ps30", "phi"):
            s["drift_mean"] = -s["drift_mean"]
        elif s["name"] in ("Nf", "NRf", "BPR"):
            s["drift_mean"] = 3 * s["drift_mean"]
        elif s["name"] in ("htBleed", "W31", "W32"):
            s["drift_mean"] = 0.0
    other_path = os.path.join(work, "other_fault.json")
    json.dump(other, open(other_path, "w"))

    train = os.path.join(work, "train.txt")
    run(args.bin, "simulate", "--engines", "50", "--seed", "11", "--cut-short-fraction", "0", "--out", train)
    model = os.path.join(work, "model.json")
    run(args.bin, "train", train, "--out", model, "--rounds", "80", "--seed", "3", "--calibration-folds", "3")

    def score(fleet_params, seed, name):
        fleet = os.path.join(work, f"{name}.txt")
        truth = os.path.join(work, f"{name}_truth.csv")
        run(args.bin, "simulate", "--engines", "30", "--seed", str(seed), "--cut-short-fraction", "0", "--params", fleet_params,
            "--out", fleet, "--truth", truth)
        life = {int(r["unit"]): int(r["life"]) for r in csv.DictReader(open(truth))}
        rows = list(csv.DictReader(io.StringIO(run(args.bin, "predict", fleet, "--model", model, "--all-cycles"))))
        covered = flagged = flagged_or_covered = n = 0
        for r in rows:
            unit = int(r["asset"].split("-")[-1])
            true_rul = life[unit] - int(r["cycle"])
            if not 1 <= true_rul <= 150 or int(r["cycle"]) < 31:
                continue  # where the official test sets cut
            n += 1
            cov = float(r["rul_lo"]) <= true_rul <= float(r["rul_hi"])
            low = r["confidence"] == "low"
            covered += cov
            flagged += low
            flagged_or_covered += cov or low
        return n, covered / n, flagged / n, flagged_or_covered / n

    n, cov, flag, ok = score(os.path.join(args.source, "models", "simulator.json"), 21, "same_fault")
    print(f"same fault:  {n} points, coverage {cov:.3f}, flagged low {flag:.3f}")
    check(cov >= 0.8, f"coverage on the training fault signature is {cov:.3f}")
    check(flag <= 0.1, f"{flag:.3f} of points flagged low on the training fault signature")
    n, cov, flag, ok = score(other_path, 22, "other_fault")
    print(f"other fault: {n} points, coverage {cov:.3f}, flagged low {flag:.3f}, covered or flagged {ok:.3f}")
    check(ok >= 0.87, f"only {ok:.3f} of points on an unseen fault signature are covered or flagged")
    check(flag > 0.2, f"an unseen fault signature was flagged at only {flag:.3f} of points")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    run_test(main)
