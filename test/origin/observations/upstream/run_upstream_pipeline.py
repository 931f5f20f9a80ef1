"""Runs upstream's OONI Pipeline v5 code (ooni/data, oonipipeline + oonidata), unchanged from a
snapshot, over a set of measurements, for ooni-edge's conformance test and benchmark.

Nothing of upstream is copied here: the snapshot's source directories are put on sys.path and its
functions called as they are:
  - observations: oonipipeline.transforms.observations.measurement_to_observations (every test it
    has a transformer for), rows flattened the way upstream's ClickhouseConnection writer does
    (measurement_meta and probe_meta inlined), sorted by type into web / ctrl / middlebox;
  - analysis: oonipipeline.analysis.web_analysis.write_analysis_web_fuzzy_logic, with the tables
    from oonipipeline.db.create_tables.make_create_queries, executed by embedded ClickHouse (chdb)
    instead of a ClickHouse server (parameters substituted by clickhouse_driver, as upstream's
    client does).
The IP metadata database (netinfodb) is replaced by one that knows no address: the origin's GeoIP
is not part of the comparison.

usage: run_upstream_pipeline.py SNAPSHOT_DIR INPUT_JSON OUTPUT_JSON [--bench N [--bench-analysis COPIES] | --observations-only]
  INPUT_JSON: [{"uid": ..., "bucket_date": "YYYY-MM-DD", "measurement": {...}}, ...]
"""

import json
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import date, datetime, timedelta


def setup_paths(snapshot):
    sys.path.insert(0, f"{snapshot}/oonipipeline/src")
    sys.path.insert(0, f"{snapshot}/oonidata/src")


class NoNetinfo:
    """Stands in for oonipipeline.netinfo.NetinfoDB: no address or AS is known."""

    def lookup_ip(self, *args, **kwargs):
        return None

    def lookup_asn(self, *args, **kwargs):
        return None


def to_json_value(v):
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.") + f"{v.microsecond // 1000:03d}"
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, bool):
        return 1 if v else 0
    if isinstance(v, (list, tuple)):
        return [to_json_value(x) for x in v]
    return v


def flatten(row):
    d = asdict(row)
    if "probe_meta" in d:
        d.update(d.pop("probe_meta"))
    if "measurement_meta" in d:
        d.update(d.pop("measurement_meta"))
    return {k: to_json_value(v) for k, v in d.items()}


TABLE_OF = {"WebObservation": "web", "WebControlObservation": "ctrl", "HTTPMiddleboxObservation": "middlebox"}


def observe(items):
    from oonidata.dataclient import load_measurement
    from oonipipeline.transforms.observations import measurement_to_observations

    netinfo = NoNetinfo()
    out = {}
    for item in items:
        msmt = dict(item["measurement"])
        msmt["measurement_uid"] = item["uid"]
        try:
            parsed = load_measurement(msmt=msmt)
            lists = measurement_to_observations(msmt=parsed, netinfodb=netinfo, bucket_date=item["bucket_date"])
            # web_connectivity gives (web, ctrl), the middlebox tests (middlebox,), the others
            # (web,), an unsupported test (): sorted by row type into the three tables.
            rows = {"web": [], "ctrl": [], "middlebox": []}
            for lst in lists:
                for r in lst:
                    rows[TABLE_OF[type(r).__name__]].append(flatten(r))
            out[item["uid"]] = rows
        except Exception as exc:  # upstream logs and skips such a measurement
            out[item["uid"]] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


class ChdbConnection:
    """The part of oonipipeline's ClickhouseConnection that the analysis writer uses."""

    def __init__(self, session):
        from clickhouse_driver.util.escape import escape_params

        self.session = session
        self.escape_params = escape_params

        class ServerInfo:
            def get_timezone(self):
                return "UTC"

        class Context:
            server_info = ServerInfo()
            settings = {}
            client_settings = {"server_side_params": False}

        self.context = Context()

    def _execute(self, query, params=None):
        if params:
            query = query % self.escape_params(params, self.context)
        return self.session.query(query)


def analysis_session(observed):
    """A chdb session with upstream's tables and these observation rows; the days they cover."""
    from chdb import session as chs
    from oonipipeline.db.create_tables import make_create_queries

    tmp = tempfile.mkdtemp(prefix="upstream-pipeline-")
    sess = chs.Session(tmp)
    for query, _name in make_create_queries():
        sess.query(query)
    days = set()
    for table in ("web", "ctrl"):
        name = "obs_web" if table == "web" else "obs_web_ctrl"
        rows = [r for o in observed.values() for r in o.get(table, [])]
        for r in rows:
            days.add(r["measurement_start_time"][:10])
        if rows:
            lines = "\n".join(json.dumps(r) for r in rows)
            sess.query(f"INSERT INTO {name} FORMAT JSONEachRow\n{lines}")
    return sess, days


def run_analysis(sess, days):
    from oonipipeline.analysis.web_analysis import write_analysis_web_fuzzy_logic

    db = ChdbConnection(sess)
    # The daily batch: (day, next day] for every day with observations, all countries.
    for day in sorted(days):
        start = datetime.strptime(day, "%Y-%m-%d")
        write_analysis_web_fuzzy_logic(db=db, start_time=start, end_time=start + timedelta(days=1), probe_cc=[])


def analyse(observed):
    sess, days = analysis_session(observed)
    run_analysis(sess, days)
    res = sess.query("SELECT * FROM analysis_web_measurement FINAL FORMAT JSONEachRow")
    text = res.bytes().decode() if hasattr(res, "bytes") else str(res)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def bench_analysis(observed, copies):
    """Upstream's analysis statement over `copies` copies of the observations (distinct uids): CPU
    seconds of this process (chdb runs in it), the observation rows already stored; and the CPU
    seconds of storing them (JSONEachRow into chdb, as this harness does)."""
    many = {}
    for k in range(copies):
        for uid, o in observed.items():
            if "error" in o:
                continue
            many[f"{uid}.{k}"] = {t: [dict(r, measurement_uid=f"{uid}.{k}") for r in o[t]] for t in ("web", "ctrl")}
    c0 = time.process_time()
    sess, days = analysis_session(many)
    c1 = time.process_time()
    run_analysis(sess, days)
    c2 = time.process_time()
    return sum(1 for o in many.values() if o["web"]), c2 - c1, c1 - c0


def main():
    snapshot, input_path, output_path = sys.argv[1:4]
    setup_paths(snapshot)
    with open(input_path) as f:
        items = json.load(f)
    if "--bench" in sys.argv:
        # Transformation: measurements per CPU-second of one process (Python: one core).
        passes = int(sys.argv[sys.argv.index("--bench") + 1])
        observed = observe(items)  # warm-up (imports, first-call costs)
        t0 = time.perf_counter()
        c0 = time.process_time()
        for _ in range(passes):
            observe(items)
        out = {"measurements": len(items) * passes, "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0}
        if "--bench-analysis" in sys.argv:
            copies = int(sys.argv[sys.argv.index("--bench-analysis") + 1])
            run_analysis(*analysis_session(observed))  # warm-up
            n, cpu, insert_cpu = bench_analysis(observed, copies)
            out.update({"analysis_measurements": n, "analysis_cpu_seconds": cpu, "insert_cpu_seconds": insert_cpu})
        with open(output_path, "w") as f:
            json.dump(out, f)
        return
    observed = observe(items)
    # --observations-only: the tests without a web analysis need no ClickHouse session.
    analysis = [] if "--observations-only" in sys.argv else analyse(observed)
    with open(output_path, "w") as f:
        json.dump({"observations": observed, "analysis": analysis}, f)


if __name__ == "__main__":
    main()
