"""REST access control and the alert acknowledgement, against the real server.

The auth matrix on POST /api/v1/alerts/{id}/ack (no token, unknown token, viewer, operator),
open reads by default, the acknowledgement on MQTT and its survival across kill -9, reads
behind a viewer token with hashed tokens from the config file, and a bad TURBOTWIN_API_TOKENS
refused at start-up without echoing the token."""
import hashlib
import json
import os
import subprocess
import time

from durability import make_fleet, wait_exactly_predict
from harness import Stack, check, parse_args, run_test

OPERATOR = "op-" + os.urandom(12).hex()
VIEWER = "view-" + os.urandom(12).hex()


def env_with_tokens(value):
    env = dict(os.environ)
    env["TURBOTWIN_API_TOKENS"] = value
    return env


def ack(st, alert_id, token, comment="inspection booked"):
    status, body, headers = st.get(f"/api/v1/alerts/{alert_id}/ack", "POST", token=token, body={"comment": comment})
    return status, json.loads(body), headers


def main():
    args = parse_args()
    with Stack(args.bin, args.source) as st:
        fleet, _, predicted = make_fleet(st, 12, 5)
        alerts_seen = st.subscribe("turbotwin/v1/alerts/+", "alerts.log")
        env = env_with_tokens(f"operator:{OPERATOR},viewer:{VIEWER}")
        st.start_serve(env=env)
        st.run("replay", fleet, "--broker", st.broker, "--speed", "max", "--quiet")
        problem = wait_exactly_predict(st, predicted)
        check(problem is None, problem)

        status, page = st.get_json("/api/v1/alerts?state=active&limit=1000")
        check(status == 200, f"reads are open by default, got {status}")
        active = [a["id"] for a in page["items"]]
        check(len(active) >= 2, f"need two active alerts, have {active}")
        target = active[0]

        # The matrix: 401 without or with an unknown token, 403 as viewer, 200 as operator.
        status, body, headers = ack(st, target, None)
        check(status == 401 and body["error"]["code"] == "unauthorized", f"no token: {status} {body}")
        check(headers.get("WWW-Authenticate", "").startswith("Bearer"), f"401 without WWW-Authenticate: {headers}")
        status, body, _ = ack(st, target, "op-not-a-real-token-at-all")
        check(status == 401, f"unknown token: {status} {body}")
        status, body, _ = ack(st, target, VIEWER)
        check(status == 403 and body["error"]["code"] == "forbidden", f"viewer: {status} {body}")
        status, body = st.get_json(f"/api/v1/alerts/{target}")
        check(status == 200 and body["state"] == "active", f"a refused ack changed the alert: {body}")
        status, body, _ = ack(st, target, OPERATOR)
        check(status == 200, f"operator: {status} {body}")
        operator_name = "operator-" + hashlib.sha256(OPERATOR.encode()).hexdigest()[:8]
        check(body["state"] == "acknowledged" and body["acknowledged"]["by"] == operator_name
              and body["acknowledged"]["comment"] == "inspection booked", f"ack answer: {body}")
        check(OPERATOR not in json.dumps(body), "the token itself leaked into the alert")
        print(f"ack matrix: 401 (none), 401 (unknown), 403 (viewer), 200 (operator) on {target}")

        status, body, _ = ack(st, target, OPERATOR)
        check(status == 409, f"a second ack should be 409, got {status} {body}")
        status, body, _ = ack(st, target.rsplit("-", 1)[0] + "-999", OPERATOR)
        check(status == 404, f"unknown alert: {status} {body}")
        status, body, _ = ack(st, "NO-SUCH-ENGINE-1", OPERATOR)
        check(status == 404, f"unknown engine: {status} {body}")
        cleared = [a["id"] for a in st.all_alerts() if a["state"] == "cleared"]
        if cleared:
            status, body, _ = ack(st, cleared[0], OPERATOR)
            check(status == 409, f"ack of a cleared alert should be 409, got {status} {body}")
        status, page = st.get_json("/api/v1/alerts?state=acknowledged")
        check([a["id"] for a in page["items"]] == [target], f"state=acknowledged lists {page['items']}")

        # The change goes out on MQTT (QoS 1) like any alert change.
        deadline = time.time() + 10
        while time.time() < deadline and not any(f'"state":"acknowledged"' in l and target in l for l in alerts_seen()):
            time.sleep(0.1)
        check(any('"state":"acknowledged"' in l and target in l for l in alerts_seen()), "no acknowledged alert on MQTT")

        # kill -9 right after: the acknowledgement was journaled before it was applied.
        second = active[1]
        status, _, _ = ack(st, second, OPERATOR, "second")
        check(status == 200, f"second ack: {status}")
        st.kill_serve()
        st.start_serve(env=env)
        # Ready only once the journal's entries after the last checkpoint are applied again.
        st.wait_ready()
        for alert_id in (target, second):
            status, body = st.get_json(f"/api/v1/alerts/{alert_id}")
            check(status == 200 and body["state"] == "acknowledged" and body["acknowledged"]["by"] == operator_name,
                  f"after kill -9 and restart {alert_id} is {body}")
        status, body, _ = ack(st, second, OPERATOR)
        check(status == 409, f"after the restart the twin still knows {second} is acknowledged: {status}")
        problem = wait_exactly_predict(st, predicted)
        check(problem is None, f"after the restart: {problem}")
        print("acknowledgements survive kill -9: both still acknowledged, twins equal predict")
        check(st.stop_serve() == 0, "serve did not exit 0")

        # Hashed tokens in the config file; reads need a viewer.
        config = st.serve_config("auth.json")
        with open(config) as f:
            cfg = json.load(f)
        cfg["http"]["require_auth_for_reads"] = True
        cfg["http"]["tokens"] = [
            {"name": "ops-desk", "role": "operator", "sha256": hashlib.sha256(OPERATOR.encode()).hexdigest()},
            {"role": "viewer", "sha256": hashlib.sha256(VIEWER.encode()).hexdigest().upper()},
        ]
        with open(config, "w") as f:
            json.dump(cfg, f)
        plain_env = dict(os.environ)
        plain_env.pop("TURBOTWIN_API_TOKENS", None)
        st.start_serve("--config", config, env=plain_env)
        for path in ("/api/v1/assets", "/api/v1/alerts", f"/api/v1/alerts/{target}", "/metrics"):
            status, _, _ = st.get(path)
            check(status == 401, f"{path} without a token should be 401, got {status}")
            status, _, _ = st.get(path, token=VIEWER)
            check(status == 200, f"{path} as viewer should be 200, got {status}")
            status, _, _ = st.get(path, token=OPERATOR)
            check(status == 200, f"{path} as operator should be 200, got {status}")
        for path in ("/healthz", "/"):
            status, _, _ = st.get(path)
            check(status == 200, f"{path} stays open, got {status}")
        status, body, _ = st.get("/api/v1/alerts?state=active", token=VIEWER)
        remaining = [a["id"] for a in json.loads(body)["items"]]
        if remaining:
            status, body, _ = ack(st, remaining[0], OPERATOR)
            check(status == 200 and body["acknowledged"]["by"] == "ops-desk", f"config token ack: {status} {body}")
        print("config tokens (SHA-256): reads 401 without a token, 200 as viewer or operator; probes open")
        check(st.stop_serve() == 0, "serve did not exit 0")

        # A malformed token list stops the start, and the message does not echo the token.
        secret = "operator-token-never-logged-" + os.urandom(6).hex()
        r = subprocess.run([args.bin, "serve", "--broker", st.broker, "--http", "127.0.0.1:0", "--data-dir", st.path("data2")],
                           env=env_with_tokens(f"admin:{secret}"), capture_output=True, text=True, timeout=30)
        check(r.returncode != 0, "serve started with a bad TURBOTWIN_API_TOKENS")
        check("TURBOTWIN_API_TOKENS" in r.stderr + r.stdout, f"no clear message: {r.stderr[-300:]}")
        check(secret not in r.stderr + r.stdout, "the bad token was echoed")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    run_test(main)
