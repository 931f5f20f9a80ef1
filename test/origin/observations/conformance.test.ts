import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, queryRows, type Database } from "../../../origin/src/db/clickhouse";
import { migrate } from "../../../origin/src/db/migrations";
import { dayWindows, runWebAnalysis } from "../../../origin/src/analysis/store";
import { ANALYSIS_COLUMNS } from "../../../origin/src/analysis/table";
import { observe, type MeasurementObservations } from "../../../origin/src/observations";
import { chTime } from "../../../origin/src/observations/rows";
import { ObservationWriter } from "../../../origin/src/observations/writer";
import { corpusAvailable, corpusPath } from "../../support/corpus";
import { fixturesOf } from "../../support/nettest-fixtures";
import { prepareUpstream, runUpstream, unavailable, type HarnessItem, type UpstreamResult } from "../../support/upstream-pipeline";
import { tempDir } from "../fastpath-pipeline/helpers";

// Conformance with upstream's OONI Pipeline v5: its Python code, unchanged from the snapshot
// (test/support/upstream-pipeline.ts), and ours over the same web_connectivity measurements — the
// corpus's, those among the ooni/backend, ooni/explorer and ooni/spec snapshots' fixtures
// (test/support/nettest-fixtures.ts), and the 50 web_connectivity 0.5 QA scenarios that ship with the snapshot (probe-cli's
// minipipeline cases: DNS/TCP/TLS blocking, hijacking, redirects, sites down…). Observation rows
// and analysis rows are compared field by field. The deviations we keep on purpose are listed in
// DEVIATIONS (and docs/compat.md); anything else fails the test.

/**
 * Differences kept by design (docs/compat.md, "Observations and analysis"): a name, and whether a
 * field's two values are an instance of it.
 */
const DEVIATIONS: Record<string, (field: string, ours: unknown, upstream: unknown) => boolean> = {
  // Time of writing: differs on every run, on both sides.
  created_at: (f) => f === "created_at",
  // Upstream looks the probe's AS up in its netinfo database (none here: empty); we keep the
  // probe's own probe_network_name.
  probe_as_org_name: (f, _o, u) => f === "probe_as_org_name" && u === "",
  // A binary header value in the `headers` map: upstream's loader stores the Python repr of the
  // {"format": "base64", …} object; we decode it.
  binary_header_value: (f, _o, u) => f.startsWith("http_response_header_") && typeof u === "string" && u.startsWith("{'data': "),
};

/**
 * Measurements upstream's loader rejects and we observe: MK-era probes' `request.tor` lacks
 * exit_ip/exit_name, which upstream's dataclass requires.
 */
const REJECTED_BY_UPSTREAM_ONLY: Record<string, (upstreamError: string) => boolean> = {
  legacy_request_tor: (e) => e.startsWith("InvalidFieldValue") && /'tor': \{'is_tor': (True|False)\}/.test(e),
};

const suite = unavailable ? describe.skip : describe;
const tmp = tempDir("obs-conformance");

function inputs(): HarnessItem[] {
  const items: HarnessItem[] = [];
  const add = (file: string, i: number) => {
    const measurement = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    const hex = i.toString(16).padStart(16, "0");
    items.push({ uid: `20240101000000.${String(i).padStart(6, "0")}_XX_webconnectivity_${hex}`, bucket_date: "2024-01-01", measurement });
  };
  let i = 0;
  if (corpusAvailable) {
    for (const f of readdirSync(corpusPath("measurements")).sort()) {
      if (!f.endsWith(".json") || f === "expectations.json") continue;
      const m = JSON.parse(readFileSync(corpusPath("measurements", f), "utf8")) as { test_name?: string };
      if (m.test_name === "web_connectivity") add(corpusPath("measurements", f), i++);
    }
  }
  // The web_connectivity fixtures of the ooni/backend, ooni/explorer and ooni/spec snapshots, when present.
  for (const f of fixturesOf(new Set(["web_connectivity"])).fixtures) {
    if (f.source.startsWith("corpus:")) continue;
    const hex = i.toString(16).padStart(16, "0");
    items.push({ uid: `20240101000000.${String(i++).padStart(6, "0")}_XX_webconnectivity_${hex}`, bucket_date: "2024-01-01", measurement: f.measurement });
  }
  return items;
}

interface Tally {
  rows: number;
  fields: number;
  deviations: Record<string, number>;
  mismatches: string[];
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a));
  if (Array.isArray(a) && Array.isArray(b)) {
    const bs: unknown[] = b;
    return a.length === bs.length && a.every((x, i) => same(x, bs[i]));
  }
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  return a === b;
}

function compareRow(where: string, ours: Record<string, unknown>, theirs: Record<string, unknown>, t: Tally) {
  t.rows++;
  const keys = new Set([...Object.keys(ours), ...Object.keys(theirs)]);
  for (const k of keys) {
    t.fields++;
    if (same(ours[k], theirs[k])) continue;
    const dev = Object.entries(DEVIATIONS).find(([, applies]) => applies(k, ours[k], theirs[k]));
    if (dev) {
      t.deviations[dev[0]] = (t.deviations[dev[0]] ?? 0) + 1;
      continue;
    }
    t.mismatches.push(`${where}.${k}: ours ${JSON.stringify(ours[k])} upstream ${JSON.stringify(theirs[k])}`);
  }
}

/** Control rows that only say "the control resolved this address" come from a Python set: any order. */
const ctrlKey = (r: Record<string, unknown>) => JSON.stringify([r.hostname, r.ip, r.port, r.dns_failure, r.http_request_url]);

/** Measurements only upstream rejects (see REJECTED_BY_UPSTREAM_ONLY): analysed only here. */
const rejectedByUpstream = new Set<string>();

suite("observations and analysis: conformance with upstream's pipeline (ooni/data, unchanged)", () => {
  let upstream: UpstreamResult;
  let ours: Map<string, MeasurementObservations | string>;
  let items: HarnessItem[];
  let db: Database;

  beforeAll(async () => {
    const up = prepareUpstream();
    items = inputs();
    const qaDir = path.join(up.sourceDir, "oonipipeline/tests/data/wc05_qa");
    for (const f of readdirSync(qaDir).sort()) {
      const i = items.length;
      const measurement = JSON.parse(readFileSync(path.join(qaDir, f), "utf8")) as Record<string, unknown>;
      items.push({ uid: `20240212203347.${String(i).padStart(6, "0")}_XX_webconnectivity_${i.toString(16).padStart(16, "0")}`, bucket_date: "2024-02-12", measurement });
    }
    upstream = runUpstream(up, items);
    ours = new Map();
    const now = chTime(new Date());
    for (const it of items) {
      const r = observe(it.measurement, it.uid);
      ours.set(it.uid, r.kind === "ok" ? r.observations : r.kind === "failed" ? r.error : "not observed");
      if (r.kind === "ok") for (const row of [...r.observations.web, ...r.observations.ctrl]) row.created_at = now;
    }
    db = openDatabase({ kind: "embedded", path: path.join(tmp.dir, "ch"), database: "default", queryTimeoutS: 60 });
    await migrate(db);
  }, 1_200_000);

  afterAll(async () => {
    await db?.close();
    tmp.cleanup();
  });

  it("obs_web and obs_web_ctrl rows agree field by field", () => {
    const t: Tally = { rows: 0, fields: 0, deviations: {}, mismatches: [] };
    let failedBoth = 0;
    for (const it of items) {
      const theirs = upstream.observations[it.uid]!;
      const mine = ours.get(it.uid)!;
      if (theirs.error !== undefined || typeof mine === "string") {
        // Both sides must give up on the same measurements.
        const onlyUpstream = theirs.error !== undefined && typeof mine !== "string" ? Object.entries(REJECTED_BY_UPSTREAM_ONLY).find(([, m]) => m(theirs.error!)) : undefined;
        if (theirs.error !== undefined && typeof mine === "string") failedBoth++;
        else if (onlyUpstream) {
          t.deviations[onlyUpstream[0]] = (t.deviations[onlyUpstream[0]] ?? 0) + 1;
          rejectedByUpstream.add(it.uid);
        } else t.mismatches.push(`${it.uid}: ours ${typeof mine === "string" ? mine : "ok"}, upstream ${theirs.error ?? "ok"}`);
        continue;
      }
      if (mine.web.length !== theirs.web!.length || mine.ctrl.length !== theirs.ctrl!.length) {
        t.mismatches.push(`${it.uid}: ours ${mine.web.length}+${mine.ctrl.length} rows, upstream ${theirs.web!.length}+${theirs.ctrl!.length}`);
        continue;
      }
      mine.web.forEach((r, i) => compareRow(`${it.uid}.web[${i}]`, r as unknown as Record<string, unknown>, theirs.web![i]!, t));
      const sortCtrl = (rows: Record<string, unknown>[]) => [...rows].sort((a, b) => ctrlKey(a).localeCompare(ctrlKey(b)));
      const a = sortCtrl(mine.ctrl as unknown as Record<string, unknown>[]);
      const b = sortCtrl(theirs.ctrl!);
      a.forEach((r, i) => compareRow(`${it.uid}.ctrl[${i}]`, { ...r, observation_idx: null }, { ...b[i]!, observation_idx: null }, t));
    }
    console.log(
      `observations: ${items.length} measurements (${failedBoth} rejected by both), ${t.rows} rows, ${t.fields} fields compared; ` +
        `deviations by design: ${JSON.stringify(t.deviations)}; unexplained: ${t.mismatches.length}`,
    );
    expect(t.mismatches.slice(0, 30)).toEqual([]);
    expect(t.rows).toBeGreaterThan(200);
  });

  /** Our analysis rows as stored, compared with upstream's. */
  async function compareAnalysis(what: string) {
    const rows = await queryRows<Record<string, unknown>>(db, `SELECT ${ANALYSIS_COLUMNS.map(([n]) => n).join(", ")} FROM analysis_web_measurement FINAL`);
    const theirs = new Map(upstream.analysis.map((r) => [r.measurement_uid as string, r]));
    const t: Tally = { rows: 0, fields: 0, deviations: {}, mismatches: [] };
    const seen = new Set<string>();
    for (const r of rows) {
      const uid = r.measurement_uid as string;
      seen.add(uid);
      const u = theirs.get(uid);
      if (!u && rejectedByUpstream.has(uid)) t.deviations.legacy_request_tor = (t.deviations.legacy_request_tor ?? 0) + 1;
      else if (!u) t.mismatches.push(`${uid}: analysis row only on our side`);
      else compareRow(uid, r, u, t);
    }
    for (const uid of theirs.keys()) if (!seen.has(uid)) t.mismatches.push(`${uid}: analysis row only upstream`);
    console.log(
      `analysis (${what}): ${t.rows} rows, ${t.fields} fields compared; deviations by design: ${JSON.stringify(t.deviations)}; unexplained: ${t.mismatches.length}`,
    );
    expect(t.mismatches.slice(0, 30)).toEqual([]);
    expect(t.rows).toBeGreaterThan(50);
  }

  it("analysis_web_measurement rows agree field by field (SQL, the daily batch over the same observations: `analysis reprocess`)", async () => {
    const mine = [...ours.values()].filter((o): o is MeasurementObservations => typeof o !== "string");
    const web = mine.flatMap((o) => o.web);
    const ctrl = mine.flatMap((o) => o.ctrl);
    await db.client.insert({ table: "obs_web_ctrl", values: ctrl, format: "JSONEachRow" });
    await db.client.insert({ table: "obs_web", values: web, format: "JSONEachRow" });
    for (const w of dayWindows([...new Set(web.map((r) => r.measurement_start_time))])) await runWebAnalysis(db, { since: w.since, until: w.until });
    await compareAnalysis("SQL reprocess");
  });

  it("analysis_web_measurement rows agree field by field (in-process TypeScript, the live writer, all measurements in one batch)", async () => {
    // The observation rows as inserted above (JSONEachRow); the writer inserts TabSeparated.
    const stored = async () =>
      Promise.all(
        ["obs_web", "obs_web_ctrl"].map((t) =>
          queryRows<Record<string, unknown>>(db, `SELECT * EXCEPT created_at FROM ${t} FINAL ORDER BY measurement_uid, observation_idx, hostname, ip, port, dns_failure`),
        ),
      );
    const asJson = await stored();
    for (const table of ["obs_web", "obs_web_ctrl", "analysis_web_measurement"]) await db.client.command({ query: `TRUNCATE TABLE ${table}` });
    const mine = [...ours.values()].filter((o): o is MeasurementObservations => typeof o !== "string");
    await new ObservationWriter(db, null).write(mine);
    await compareAnalysis("TypeScript live");
    const asTsv = await stored();
    expect(asTsv[0]!.length).toBeGreaterThan(300);
    expect(asTsv).toEqual(asJson);
  });
});
