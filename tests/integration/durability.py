"""Helpers shared by the durability tests (test_crash_recovery, test_broker_restart,
test_graceful_restart): fleets, expected state, alert comparisons."""
import json
import time

from harness import check, compare, read_predict_csv


def make_fleet(st, engines, seed):
    """A simulated fleet file in the stack's work folder and its `predict` answer."""
    path = st.path(f"fleet-{engines}-{seed}.txt")
    st.run("simulate", "--engines", str(engines), "--seed", str(seed), "--out", path)
    rows = sum(1 for line in open(path) if line.strip())
    predicted = read_predict_csv(st.run("predict", path).stdout)
    check(len(predicted) == engines, f"predict gave {len(predicted)} engines")
    return path, rows, predicted


def wait_exactly_predict(st, predicted, timeout=30):
    """Polls REST until every engine equals predict and has applied each of its cycles exactly
    once (readings == last cycle: nothing lost, nothing counted twice). Returns the problem or None."""
    deadline = time.time() + timeout
    problem = "never fetched"
    while time.time() < deadline:
        assets = {a["id"]: a for a in st.all_assets()}
        problem = compare(assets, predicted)
        if problem is None:
            for asset, row in predicted.items():
                if assets[asset]["readings"] != int(row["cycle"]):
                    problem = f"{asset} applied {assets[asset]['readings']} readings for {row['cycle']} cycles"
                    break
        if problem is None:
            return None
        time.sleep(0.2)
    return problem


def alerts_by_id(items):
    """REST alerts keyed by id (REST shows each alert's latest state)."""
    return {a["id"]: a for a in items}


def alert_changes_from_rest(items):
    """The alert changes that REST implies: (id, "active") for every alert, plus (id, "cleared")
    for a cleared one."""
    changes = set()
    for a in items:
        changes.add((a["id"], "active"))
        if a["state"] == "cleared":
            changes.add((a["id"], "cleared"))
    return changes


def alert_changes_from_mqtt(lines):
    """(id, state) of every alert message a mosquitto_sub -v log holds."""
    out = []
    for line in lines:
        topic, payload = line.split(" ", 1)
        msg = json.loads(payload)
        check(topic == f"turbotwin/v1/alerts/{msg['asset']}", f"alert on the wrong topic: {topic}")
        out.append((msg["id"], msg["state"]))
    return out


def wait_mqtt_alerts(read_lines, expected, timeout=20):
    """Waits until the subscriber has every expected (id, state); returns what it got (a list,
    duplicates kept) and what is still missing."""
    deadline = time.time() + timeout
    while True:
        got = alert_changes_from_mqtt(read_lines())
        missing = expected - set(got)
        if not missing or time.time() > deadline:
            return got, missing
        time.sleep(0.2)
