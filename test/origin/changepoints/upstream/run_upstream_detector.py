"""Runs upstream's changepoint detector (ooni/data oonipipeline.analysis.detector), unchanged from a
snapshot, for ooni-edge's detector conformance test. Nothing of upstream is copied here: the
snapshot's source directory is put on sys.path and its functions called as they are.

Two modes:
- series (default): detect_changepoints() over synthetic hourly series, once per chunk of hours,
  each chunk starting from the states (LastCusum) the previous one returned — what upstream's runs
  do through its event_detector_cusums table.
    INPUT_JSON: {"edd": 10, "gap_halflife": 48, "warmup": false,
                 "chunks": [[{probe_cc, probe_asn, domain, ts (epoch ms), count…, *_blocked (null: NaN)}, …], …]}
    OUTPUT_JSON: {"changepoints": [...], "states": [...], "seconds": time in detect_changepoints} with times as epoch ms
- --full: run_detector() itself, once per hourly window as upstream's hourly task does, against
  embedded ClickHouse (chdb) holding upstream's tables (make_create_queries), a citizenlab table
  and the given analysis rows; its ClickHouse client is replaced by a small chdb adapter
  (parameters substituted by clickhouse_driver's own escaping, as its client does).
    INPUT_JSON: {"analysis": [rows], "citizenlab": [rows], "windows": [[start ms, end ms], …]}
    OUTPUT_JSON: {"changepoints": [rows of event_detector_changepoints FINAL],
                  "cusums": [latest row per series of event_detector_cusums], "seconds": time in the runs}

usage: run_upstream_detector.py SNAPSHOT_DIR INPUT_JSON OUTPUT_JSON [--full]
"""

import json
import math
import sys
import time
from datetime import datetime, timedelta, timezone

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


class ChdbClient:
    """What run_detector asks of clickhouse_driver.Client: execute, execute_iter, from_url."""

    session = None

    def __init__(self):
        from clickhouse_driver.util.escape import escape_params

        self.escape_params = escape_params

        class ServerInfo:
            def get_timezone(self):
                return "UTC"

        class Context:
            server_info = ServerInfo()
            settings = {}
            client_settings = {"server_side_params": False}

        self.context = Context()

    @classmethod
    def from_url(cls, url):
        return cls()

    def _select(self, query, params):
        if params:
            query = query % self.escape_params(params, self.context)
        res = self.session.query(query, "JSONCompactEachRowWithNamesAndTypes")
        text = res.bytes().decode() if hasattr(res, "bytes") else str(res)
        lines = [json.loads(l) for l in text.splitlines() if l.strip()]
        if not lines:
            return [], []
        names, types = lines[0], lines[1]
        rows = [tuple(convert(v, t) for v, t in zip(r, types)) for r in lines[2:]]
        return rows, list(zip(names, types))

    def execute_iter(self, query, params=None, with_column_types=False):
        rows, cols = self._select(query, params)
        if with_column_types:
            yield cols
        yield from rows

    def execute(self, query, params=None, with_column_types=False):
        if query.lstrip().upper().startswith("INSERT"):
            head = query.strip()
            assert head.endswith("VALUES"), head
            lines = "\n".join(json.dumps({k: json_value(v) for k, v in row.items()}) for row in params)
            self.session.query(f"{head[: -len('VALUES')]} FORMAT JSONEachRow\n{lines}")
            return None
        rows, cols = self._select(query, params)
        return (rows, cols) if with_column_types else rows


def convert(v, t):
    if v is None:
        return float("nan") if "Float" in t else None
    if t.replace("Nullable(", "").startswith("DateTime"):
        return datetime.strptime(v[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc) + (
            timedelta(milliseconds=int(v[20:23])) if len(v) > 19 else timedelta(0)
        )
    if "Int" in t:
        return int(v)
    if "Float" in t:
        return float(v)
    return v


def json_value(v):
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:23]
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def full(spec):
    import tempfile

    from chdb import session as chs
    import oonipipeline.analysis.detector as detector
    from oonipipeline.db.create_tables import make_create_queries

    sess = chs.Session(tempfile.mkdtemp(prefix="upstream-detector-"))
    for query, _name in make_create_queries():
        sess.query(query)
    sess.query("CREATE TABLE citizenlab (domain String, url String, cc FixedString(2), category_code String) ENGINE = MergeTree ORDER BY domain")
    for table, rows in (("analysis_web_measurement", spec["analysis"]), ("citizenlab", spec["citizenlab"])):
        if rows:
            sess.query(f"INSERT INTO {table} FORMAT JSONEachRow\n" + "\n".join(json.dumps(r) for r in rows))
    ChdbClient.session = sess
    detector.ClickhouseClient = ChdbClient
    t0 = time.perf_counter()
    for start, end in spec["windows"]:
        # As oonipipeline.tasks.detector.make_detector: run_detector's defaults, all countries.
        detector.run_detector(clickhouse_url="chdb://", start_time=to_dt(start), end_time=to_dt(end), probe_cc=[])
    seconds = time.perf_counter() - t0
    db = ChdbClient()
    cps, cols = db.execute("SELECT * FROM event_detector_changepoints FINAL ORDER BY ts, probe_cc, probe_asn, domain, block_type", with_column_types=True)
    names = [n for n, _ in cols]
    changepoints = [plain(dict(zip(names, r))) for r in cps]
    cus, cols = db.execute("SELECT * FROM event_detector_cusums ORDER BY probe_cc, probe_asn, domain, ts", with_column_types=True)
    names = [n for n, _ in cols]
    latest = {}
    for r in cus:
        d = plain(dict(zip(names, r)))
        latest[(d["probe_cc"], d["probe_asn"], d["domain"])] = d
    return {"changepoints": changepoints, "cusums": [latest[k] for k in sorted(latest)], "seconds": seconds}


def main():
    snapshot, input_path, output_path = sys.argv[1:4]
    sys.path.insert(0, f"{snapshot}/oonipipeline/src")
    if "--full" in sys.argv[4:]:
        json.dump(full(json.load(open(input_path))), open(output_path, "w"))
        return
    from oonipipeline.analysis.detector import Observation, detect_changepoints

    spec = json.load(open(input_path))
    cusum_map = {}
    changepoints = []
    seconds = 0.0
    for chunk in spec["chunks"]:
        observations = []
        for o in chunk:
            o = dict(o)
            o["ts"] = to_dt(o["ts"])
            for s in SIGNALS:
                if o[s] is None:
                    o[s] = float("nan")
            observations.append(Observation(**o))
        t0 = time.perf_counter()
        cps, updated, _ = detect_changepoints(
            observations=observations,
            cusum_map=cusum_map,
            edd=spec["edd"],
            gap_halflife=spec["gap_halflife"],
            warmup=spec["warmup"],
        )
        seconds += time.perf_counter() - t0
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
    json.dump({"changepoints": changepoints, "states": states, "seconds": seconds}, open(output_path, "w"))


if __name__ == "__main__":
    main()
