"""Runs upstream's changepoint detector (ooni/data oonipipeline.analysis.detector), unchanged from a
snapshot, over synthetic hourly series, for ooni-edge's detector conformance test.

Nothing of upstream is copied here: the snapshot's source directory is put on sys.path and its
detect_changepoints() called as it is, once per chunk of hours, each chunk starting from the
states (LastCusum) the previous one returned — what upstream's runs do through its
event_detector_cusums table.

usage: run_upstream_detector.py SNAPSHOT_DIR INPUT_JSON OUTPUT_JSON
  INPUT_JSON: {"edd": 10, "gap_halflife": 48, "warmup": false,
               "chunks": [[{probe_cc, probe_asn, domain, ts (epoch ms), count…, *_blocked (null: NaN)}, …], …]}
  OUTPUT_JSON: {"changepoints": [...], "states": [...]} with times as epoch ms
"""

import json
import math
import sys
from datetime import datetime, timezone

SIGNALS = ["dns_isp_blocked", "dns_other_blocked", "tcp_blocked", "tls_blocked"]


def to_dt(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def to_ms(v):
    if isinstance(v, datetime):
        return round(v.timestamp() * 1000)
    return v


def plain(d):
    out = {}
    for k, v in dict(d).items():
        if isinstance(v, float) and math.isnan(v):
            v = None
        out[k] = to_ms(v)
    return out


def main():
    snapshot, input_path, output_path = sys.argv[1:4]
    sys.path.insert(0, f"{snapshot}/oonipipeline/src")
    from oonipipeline.analysis.detector import Observation, detect_changepoints

    spec = json.load(open(input_path))
    cusum_map = {}
    changepoints = []
    for chunk in spec["chunks"]:
        observations = []
        for o in chunk:
            o = dict(o)
            o["ts"] = to_dt(o["ts"])
            for s in SIGNALS:
                if o[s] is None:
                    o[s] = float("nan")
            observations.append(Observation(**o))
        cps, updated, _ = detect_changepoints(
            observations=observations,
            cusum_map=cusum_map,
            edd=spec["edd"],
            gap_halflife=spec["gap_halflife"],
            warmup=spec["warmup"],
        )
        changepoints += [plain(c) for c in cps]
        for c in updated:
            cusum_map[f"{c['probe_cc']}_{c['probe_asn']}_{c['domain']}"] = c
    states = []
    for key in sorted(cusum_map):
        c = cusum_map[key]
        state = {"probe_cc": c["probe_cc"], "probe_asn": c["probe_asn"], "domain": c["domain"], "ts": to_ms(c["ts"])}
        for s in SIGNALS:
            for f in ["current_state", "last_change", "s_pos", "s_neg", "last_ts"]:
                state[f"{s}_{f}"] = to_ms(c[f"{s}_{f}"])
        states.append(state)
    json.dump({"changepoints": changepoints, "states": states}, open(output_path, "w"))


if __name__ == "__main__":
    main()
