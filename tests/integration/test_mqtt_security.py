"""MQTT access control with real parts: a Mosquitto 2.0 TLS listener with a password file and
an ACL, built from docs/security.md's own blocks (certificate commands, mosquitto_passwd
commands, mosquitto.conf, ACL) with only the port and folders changed. Then:
- serve with a wrong password stays up but not ready (/readyz 503) and says why;
- serve with a missing CA file exits at start, naming the file;
- serve over TLS with its password file and client certificate (temp config, relative paths),
  replay over TLS with credentials from the environment: REST equals `predict` bit for bit,
  and an operator account reads every engine's RUL (serve's writes pass the ACL);
- the ACL: the engines account cannot forge RUL messages nor read them;
- plain tcp:// to the TLS port, a client without the CA, a host name the certificate does not
  name, a client without a certificate: all refused; --insecure skips the certificate check.
Skips (77) without openssl or Mosquitto."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

from harness import SKIP, Stack, check, free_port, parse_args, read_predict_csv, run_test, wait_rest_equals_predict

SERVE_PW, ENGINES_PW, OPERATOR_PW = "serve-secret", "engines-secret", "operator-secret"  # docs' passwd.sh


def doc_blocks(source):
    """The fenced blocks of docs/security.md marked <!-- tested: NAME -->, by NAME."""
    with open(os.path.join(source, "docs", "security.md")) as f:
        text = f.read()
    blocks = dict(re.findall(r"<!-- tested: (\S+) -->\s*```[^\n]*\n(.*?)\n```", text, re.S))
    for name in ("certs.sh", "passwd.sh", "mosquitto.conf", "acl"):
        check(name in blocks, f"docs/security.md has no block marked '<!-- tested: {name} -->'")
    return blocks


def replace_once(text, old, new):
    check(old in text, f"docs/security.md changed: {old!r} not found")
    return text.replace(old, new, 1)


def secured_broker(st, blocks):
    """Runs the docs' commands in work/pki and returns the docs' mosquitto.conf for this port."""
    pki = st.path("pki")
    os.makedirs(pki)
    # The broker's certificate names localhost and 127.0.0.9 but not 127.0.0.1, so that
    # connecting to ssl://127.0.0.1 shows the host-name check at work.
    certs = replace_once(blocks["certs.sh"], "BROKER_IP=127.0.0.1", "BROKER_IP=127.0.0.9")
    for name, script in (("certs.sh", certs), ("passwd.sh", blocks["passwd.sh"])):
        r = subprocess.run(["sh", "-e", "-c", script], cwd=pki, capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"docs' {name} failed ({r.returncode}): {r.stderr[-1500:]}")
    with open(os.path.join(pki, "acl"), "w") as f:
        f.write(blocks["acl"] + "\n")
    conf = replace_once(blocks["mosquitto.conf"], "listener 8883", f"listener {st.mq_port} 127.0.0.1")
    conf = replace_once(conf, "persistence_location /var/lib/mosquitto/", f"persistence_location {st.path('mq')}/")
    check(conf.count("/etc/mosquitto/turbotwin/") == 5, "docs/security.md: expected 5 files under /etc/mosquitto/turbotwin/")
    conf = conf.replace("/etc/mosquitto/turbotwin/", pki + "/")
    os.makedirs(st.path("mq"))
    if os.geteuid() == 0:
        conf += "\nuser root\n"  # else mosquitto drops to user "mosquitto", who cannot read work/
    return conf + "\nlog_type all\n"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def serve_config(st, name, password_file, ca_file="pki/ca.crt"):
    """A serve config in work/ naming its files relative to work/, as a deployment would."""
    path = st.serve_config(name)
    with open(path) as f:
        cfg = json.load(f)
    cfg["broker"] = st.broker
    cfg["mqtt"].update({"username": "turbotwin", "password_file": password_file,
                        "tls": {"ca_file": ca_file, "cert_file": "pki/client.crt", "key_file": "pki/client.key"}})
    return write(path, json.dumps(cfg))


def main():
    args = parse_args()
    for tool in ("openssl", "mosquitto", "mosquitto_passwd", "mosquitto_pub", "mosquitto_sub"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} not installed (apt-get install openssl mosquitto mosquitto-clients)")
            sys.exit(SKIP)
    blocks = doc_blocks(args.source)
    with Stack(args.bin, args.source, broker_conf=lambda st: secured_broker(st, blocks)) as st:
        pki = st.path("pki")
        ca, cert, key = (os.path.join(pki, n) for n in ("ca.crt", "client.crt", "client.key"))
        st.broker = f"ssl://localhost:{st.mq_port}"
        mq_tls = ["-h", "localhost", "-p", str(st.mq_port), "--cafile", ca, "--cert", cert, "--key", key]
        engines_env = dict(os.environ, TURBOTWIN_MQTT_USERNAME="engines", TURBOTWIN_MQTT_PASSWORD=ENGINES_PW)

        def replay(data, *flags, env=engines_env):
            t0 = time.time()
            r = subprocess.run([st.bin, "replay", data, "--quiet", *flags], capture_output=True, text=True, env=env, timeout=60)
            return r.returncode, r.stderr, time.time() - t0

        def ready():
            return st.get("/readyz")[0]

        # 1. A wrong password: serve runs, is not ready, and its log says why.
        write(st.path("wrong.pw"), "not-the-password\n")
        st.start_serve("--config", serve_config(st, "wrong.json", "wrong.pw"))
        deadline = time.time() + 3
        while time.time() < deadline:
            check(ready() == 503, "serve is ready with a wrong password")
            time.sleep(0.2)
        refused = st.serve_log_matches(r"cannot connect to ssl://localhost:\d+: the broker refused the connection: not authorized[^\n]*")
        check(refused, "no 'cannot connect ... not authorized' line in serve's log:\n" + st.log("serve.log")[-1500:])
        print(f"wrong password: /readyz 503, log: {refused[0]}")
        check(st.stop_serve() == 0, "serve did not exit 0 on SIGTERM")

        # 2. A missing CA file stops serve at start, before any connect.
        write(st.path("serve.pw"), SERVE_PW + "\n")
        r = st.run("serve", "--config", serve_config(st, "missing.json", "serve.pw", ca_file="pki/nope.crt"), "--broker", st.broker,
                   "--http", f"127.0.0.1:{free_port()}", "--data-dir", st.path("data-missing"), check=False, timeout=30)
        out = r.stdout + r.stderr
        check(r.returncode != 0 and f"TLS CA file '{pki}/nope.crt': no such file" in out,
              f"serve with a missing CA file: exit {r.returncode}, output {out[-800:]}")
        print("missing CA file: serve exits at start naming the file")

        # 3. The right password, from a file named relative to the config, over TLS with a
        # client certificate; replay's credentials from the environment.
        st.start_serve("--config", serve_config(st, "serve.json", "serve.pw"))
        deadline = time.time() + 15
        while ready() != 200 and time.time() < deadline:
            time.sleep(0.1)
        check(ready() == 200, "serve not connected with the right password:\n" + st.log("serve.log")[-1500:])
        st.spawn(["mosquitto_sub", *mq_tls, "-u", "operator", "-P", OPERATOR_PW, "-q", "1", "-v",
                  "-t", "turbotwin/v1/engines/+/rul", "-t", "turbotwin/v1/alerts/+"], "operator.log")
        deadline = time.time() + 10
        while "u'operator'" not in st.log("mosquitto.log") and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)  # connected; give the SUBSCRIBE its round trip
        fleet = st.path("fleet.txt")
        st.run("simulate", "--engines", "6", "--seed", "11", "--out", fleet, "--cut-short-fraction", "0.5")
        code, err, _ = replay(fleet, "--broker", st.broker, "--ca-file", ca, "--cert-file", cert, "--key-file", key)
        check(code == 0, f"replay over TLS exited {code}: {err[-800:]}")
        predicted = read_predict_csv(st.run("predict", fleet).stdout)
        problem = wait_rest_equals_predict(st, predicted)
        check(problem is None, f"REST never matched predict: {problem}")
        print(f"TLS + passwords: REST identical to predict for {len(predicted)} engines")

        def operator_rul():
            last = {}
            for line in st.log("operator.log").splitlines():
                m = re.match(r"turbotwin/v1/engines/([^/]+)/rul (.*)", line)
                if m:
                    last[m.group(1)] = m.group(2)
            return last

        deadline = time.time() + 10
        while time.time() < deadline:
            last = operator_rul()
            if all(a in last and f'"cycle":{p["cycle"]},' in last[a] for a, p in predicted.items()):
                break
            time.sleep(0.2)
        for asset, p in predicted.items():
            check(f'"cycle":{p["cycle"]},' in operator_rul().get(asset, ""), f"operator never got {asset}'s last RUL")
        print("ACL: serve publishes RUL, the operator account reads it")

        # 4. The ACL: the engines account may publish telemetry only. Its subscription to RUL
        # is live while serve publishes one (for the probe below), and must receive nothing.
        st.spawn(["mosquitto_sub", *mq_tls, "-u", "engines", "-P", ENGINES_PW, "-i", "engines-peek", "-q", "1", "-v",
                  "-t", "turbotwin/v1/engines/+/rul"], "engines-peek.log")
        deadline = time.time() + 10
        while "as engines-peek" not in st.log("mosquitto.log") and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)
        forged = subprocess.run(["mosquitto_pub", *mq_tls, "-u", "engines", "-P", ENGINES_PW, "-q", "1",
                                 "-t", "turbotwin/v1/engines/ENG-001/rul", "-m", '{"forged":true}'], capture_output=True, text=True)
        check(forged.returncode == 0, f"mosquitto_pub as engines: {forged.stderr}")
        # Sent after the forged message was acknowledged: once serve's answer to it reaches the
        # operator, the forged one would have too.
        probe = subprocess.run(["mosquitto_pub", *mq_tls, "-u", "engines", "-P", ENGINES_PW, "-q", "1",
                                "-t", "turbotwin/v1/engines/ACL-001/telemetry", "-m", '{"cycle":1,"sensors":{"T24":641.8}}'],
                               capture_output=True, text=True)
        check(probe.returncode == 0, f"mosquitto_pub telemetry as engines: {probe.stderr}")
        deadline = time.time() + 10
        while "ACL-001" not in operator_rul() and time.time() < deadline:
            time.sleep(0.1)
        check("ACL-001" in operator_rul(), "serve's RUL for the probe engine never reached the operator")
        check("forged" not in st.log("operator.log"), "the ACL let the engines account publish a RUL message")
        denied = [l for l in st.log("mosquitto.log").splitlines() if "Denied PUBLISH" in l and "ENG-001/rul" in l]
        check(denied, "mosquitto did not log the denied RUL publish")
        time.sleep(0.3)
        peek = st.log("engines-peek.log")
        check("ACL-001" not in peek and "forged" not in peek, f"the engines account read a RUL message: {peek[:300]}")
        print(f"ACL: engines cannot publish RUL nor read it ({peek.strip() or 'nothing received'})")

        # 5. What must be refused, and how fast.
        one_row = write(st.path("one.txt"), open(fleet).readline())
        code, err, took = replay(one_row, "--broker", f"tcp://localhost:{st.mq_port}")
        check(code == 1 and "cannot connect to tcp://" in err, f"plain tcp to the TLS port: exit {code}: {err[-500:]}")
        print(f"plain tcp:// to the TLS port: refused in {took:.1f} s: {err.strip()}")
        code, err, took = replay(one_row, "--broker", st.broker, "--cert-file", cert, "--key-file", key)
        check(code == 1 and "cannot connect to ssl://" in err, f"without the CA: exit {code}: {err[-500:]}")
        print(f"client without the CA: refused in {took:.1f} s: {err.strip()}")
        ip_url = f"ssl://127.0.0.1:{st.mq_port}"  # the certificate names 127.0.0.9, not 127.0.0.1
        code, err, took = replay(one_row, "--broker", ip_url, "--ca-file", ca, "--cert-file", cert, "--key-file", key)
        check(code == 1, f"a host the certificate does not name: exit {code}: {err[-500:]}")
        print(f"host name not in the certificate: refused in {took:.1f} s: {err.strip()}")
        code, err, _ = replay(one_row, "--broker", ip_url, "--insecure", "--cert-file", cert, "--key-file", key, "--prefix", "INS-")
        check(code == 0, f"--insecure: exit {code}: {err[-500:]}")
        code, err, took = replay(one_row, "--broker", st.broker, "--ca-file", ca)
        check(code == 1, f"a client without a certificate: exit {code}: {err[-500:]}")
        print(f"client without a certificate: refused in {took:.1f} s: {err.strip()}")
        code, err, _ = replay(one_row, "--broker", st.broker, "--ca-file", st.path("nope.crt"))
        check(code == 2 and "TLS CA file" in err and "no such file" in err, f"replay with a missing CA file: exit {code}: {err}")
        code, err, _ = replay(one_row, "--broker", st.broker, "--ca-file", ca, "--cert-file", cert, "--key-file", key,
                              env=dict(engines_env, TURBOTWIN_MQTT_PASSWORD="wrong"))
        check(code == 1 and "not authorized (as user 'engines'" in err, f"replay with a wrong password: exit {code}: {err[-500:]}")

        log = st.log("serve.log")
        check(SERVE_PW not in log and "not-the-password" not in log, "a password appeared in serve's log")
        check(st.stop_serve() == 0, "serve did not exit 0 on SIGTERM")
    print("1 passed, 0 failed")


if __name__ == "__main__":
    run_test(main)
