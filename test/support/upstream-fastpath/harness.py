"""Run OONI's own Python fastpath (ooni/backend `fastpath.core`, imported unchanged from a
snapshot that is never committed here) on measurements we give it, and report the rows it would
insert into ClickHouse.

Only what talks to the outside world is replaced:
  - `fastpath.s3feeder` and `fastpath.localhttpfeeder` (S3 and the HTTP listener) by empty modules,
    so neither boto3/lz4 nor gunicorn is needed;
  - the ClickHouse client inside `fastpath.db` by a recorder (`fastpath.db` itself is upstream's
    and builds the rows exactly as in production).
Fingerprints are read from the published CSV files into the dicts upstream reads from its
`fingerprints_dns` / `fingerprints_http` tables.

  python harness.py --backend DIR --fingerprints DIR score   < items.jsonl > results.jsonl
  python harness.py --backend DIR --fingerprints DIR bench   --items FILE --seconds N

score: each input line is {"id", "uid", "post"} (`post` is the body the fastpath receives:
the probe's {"format":"json","content":{...}}); each output line is {"id", "rows", "openvpn",
"errors"}: the fastpath rows, the obs_openvpn rows, and what upstream logged as an exception.
bench: bytes -> row and scoring alone over the items ("uid<TAB>post" lines), looped for N
seconds each; rates per CPU second; peak RSS during the bytes -> row run (the counter restarted
after loading and warming up); one JSON line.
"""

import argparse
import csv
import json
import logging
import resource
import sys
import time
import types
from datetime import datetime


def stub_module(name: str, **attrs) -> None:
    mod = types.ModuleType(name)
    for k, v in attrs.items():
        setattr(mod, k, v)
    sys.modules[name] = mod


class RecordingClickhouse:
    """Stands in for clickhouse_driver.Client: keeps what would have been inserted."""

    def __init__(self) -> None:
        self.fastpath = []
        self.openvpn = []
        self.keep = True

    def execute(self, sql, rows=None, **_kw):
        if not self.keep:
            return []
        if "INSERT INTO fastpath" in sql:
            self.fastpath.extend(rows)
        elif "INSERT INTO obs_openvpn" in sql:
            self.openvpn.extend(rows)
        return []


class ErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.errors = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        self.errors.append(text)


def load_upstream(backend_dir: str, fingerprints_dir: str):
    sys.path.insert(0, backend_dir)
    stub_module("fastpath.s3feeder")
    stub_module("fastpath.localhttpfeeder", start_http_api=lambda queue: None)
    import fastpath.core as core  # noqa: E402  (after the stubs)
    import fastpath.db as db  # noqa: E402

    core.conf.no_write_to_db = False
    core.conf.write_to_disk = False
    client = RecordingClickhouse()
    db.click_client = client

    def read_csv(name):
        with open(f"{fingerprints_dir}/{name}", newline="", encoding="utf-8") as f:
            cols = ("name", "scope", "other_names", "location_found", "pattern_type", "pattern",
                    "confidence_no_fp", "expected_countries")
            out = []
            for r in csv.DictReader(f):
                d = {k: r[k] for k in cols}
                d["confidence_no_fp"] = int(d["confidence_no_fp"] or 0)
                out.append(d)
            return out

    core.fingerprints = core.prepare_fingerprints(read_csv("fingerprints_dns.csv"), read_csv("fingerprints_http.csv"))
    # Keep update_fingerprints_if_needed() from ever asking the (absent) database.
    core.fingerprints_update_time = 2**62
    collector = ErrorCollector()
    logging.getLogger("fastpath").addHandler(collector)
    logging.getLogger("fastpath").setLevel(logging.ERROR)
    logging.getLogger("fastpath").propagate = False
    return core, db, client, collector


def plain(v):
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    return v


def cmd_score(core, client, collector) -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        item = json.loads(line)
        client.fastpath.clear()
        client.openvpn.clear()
        collector.errors.clear()
        core.process_measurement((item["post"].encode("utf-8"), None, item["uid"]))
        out = {
            "id": item["id"],
            "rows": [{k: plain(v) for k, v in r.items()} for r in client.fastpath],
            "openvpn": [{k: plain(v) for k, v in r.items()} for r in client.openvpn],
            "errors": list(collector.errors),
        }
        sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


def reset_peak_rss() -> None:
    """Linux: restart the peak-RSS counter (VmHWM) from the current RSS."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def cmd_bench(core, client, args) -> None:
    import gc
    import ujson

    # Items file: one "uid<TAB>post" line per measurement (the post is one line of JSON).
    items = []
    with open(args.items, "rb") as f:
        for line in f:
            line = line.rstrip(b"\n")
            if line:
                uid, post = line.split(b"\t", 1)
                items.append((post, uid.decode()))
    total_bytes = sum(len(b) for b, _ in items)
    client.keep = False  # rows are built by upstream's db.py, then dropped

    def loop(fn, seconds):
        """Runs fn over the items until `seconds` of wall time; rates use CPU time."""
        n = 0
        nbytes = 0
        t0 = time.perf_counter()
        c0 = time.process_time()
        while True:
            for i, it in enumerate(items):
                fn(i, it)
                n += 1
                nbytes += len(it[0])
            if time.perf_counter() - t0 >= seconds:
                return n, nbytes, time.process_time() - c0

    def to_row(i, it):
        core.process_measurement((it[0], None, it[1]))

    # bytes -> row: what the live worker does with each POST it receives.
    loop(to_row, min(1.0, args.seconds))
    gc.collect()
    reset_peak_rss()
    n, nb, el = loop(to_row, args.seconds)
    rss_rows = peak_rss_kb()
    # scoring alone: already parsed and unwrapped.
    parsed = [core.unwrap_msmt(ujson.loads(b)) for b, _ in items]

    def score_only(i, it):
        s = core.score_measurement(parsed[i])
        core.flag_measurements_with_wrong_date(parsed[i], it[1], s)

    sn, _, sel = loop(score_only, args.seconds)
    out = {
        "items": len(items),
        "bytes": total_bytes,
        "rows_per_s": n / el,
        "mb_per_s": nb / el / 1e6,
        "score_per_s": sn / sel,
        "peak_rss_kb_rows": rss_rows,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    sys.stdout.write(json.dumps(out) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", required=True, help="ooni/backend fastpath/ directory (holds the fastpath package)")
    ap.add_argument("--fingerprints", required=True, help="directory with fingerprints_dns.csv and fingerprints_http.csv")
    ap.add_argument("cmd", choices=("score", "bench"))
    ap.add_argument("--items")
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    core, _db, client, collector = load_upstream(args.backend, args.fingerprints)
    if args.cmd == "score":
        cmd_score(core, client, collector)
    else:
        cmd_bench(core, client, args)


if __name__ == "__main__":
    main()
