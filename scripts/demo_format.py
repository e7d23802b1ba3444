#!/usr/bin/env python3
"""Pretty-printers for the demo: `alerts` reads alert JSON lines from stdin; `fleet` reads a
GET /api/v1/assets answer."""
import json
import sys


def alerts():
    for line in sys.stdin:
        try:
            a = json.loads(line)
        except ValueError:
            continue
        if a.get("type") == "sensor_fault":
            # A probe judged failed (docs/trust.md): not a RUL alert, it names the sensor and why.
            print(f"?  SENSOR {a['id']:<18} {a['state']:<7} cycle {a['cycle']:>4}  {a['sensor']} {a.get('reason') or ''}", flush=True)
            continue
        mark = {"critical": "!!", "warning": "! "}.get(a.get("severity"), "  ")
        print(f"{mark} ALERT {a['id']:<12} {a['severity']:<8} {a['state']:<7} cycle {a['cycle']:>4}  "
              f"RUL {a['rul']:6.1f}  90% [{a['rul_lo']:.1f}, {a['rul_hi']:.1f}]", flush=True)


def fleet():
    # The server sorts (sort=-risk): most at risk of failing within the critical horizon first.
    for a in json.load(sys.stdin)["items"]:
        print(f"  {a['id']:<10} cycle {a['last_cycle']:>4}  RUL {a['rul']:6.1f}  "
              f"[{a['rul_lo']:.1f}, {a['rul_hi']:.1f}]  risk {a.get('risk', 0):4.0%}  {a['severity']}")


if __name__ == "__main__":
    try:
        {"alerts": alerts, "fleet": fleet}[sys.argv[1]]()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
