"""NASA C-MAPSS data through the real pipeline (needs ../shared/data/cmapss; skips otherwise):
30 FD001 engines plus a broken line and trailing spaces are replayed through Mosquitto; the
bad line is reported as FILE:LINE and skipped, and REST equals `predict` for every engine."""
import os
import sys

from harness import SKIP, Stack, check, parse_args, read_predict_csv, wait_rest_equals_predict, run_test


def main():
    args = parse_args()
    data = os.path.join(args.source, "..", "shared", "data", "cmapss", "train_FD001.txt")
    if not os.path.exists(data):
        print(f"SKIP: {data} is absent (the NASA C-MAPSS data lives in ../shared/data, never in the repo)")
        sys.exit(SKIP)
    with Stack(args.bin, args.source) as st:
        st.start_serve()
        sample = st.path("fd001_30.txt")
        with open(data) as src, open(sample, "w") as out:
            lines = [l for l in src if l.split() and int(l.split()[0]) <= 30]
            out.writelines(l.rstrip("\n") + "   \n" for l in lines[:100])
            out.write("1 101 not a number\n")
            out.writelines(lines[100:])
        r = st.run("replay", sample, "--broker", st.broker, "--speed", "max", "--quiet")
        check(f"{sample}:101" in r.stderr, f"replay did not report the bad line as FILE:LINE: {r.stderr[-500:]}")
        predicted = read_predict_csv(st.run("predict", sample).stdout)
        check(len(predicted) == 30, f"predict gave {len(predicted)} engines")
        problem = wait_rest_equals_predict(st, predicted)
        check(problem is None, f"REST never matched predict: {problem}")
        status, alerts = st.get_json("/api/v1/alerts?limit=1000")
        check(status == 200 and len(alerts["items"]) >= 30, f"expected alerts for 30 run-to-failure engines, got {len(alerts['items'])}")
        print(f"30 FD001 engines identical to predict; {len(alerts['items'])} alerts")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    run_test(main)
