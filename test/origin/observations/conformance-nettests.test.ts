import { existsSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { observe, OBSERVED_TESTS, type MeasurementObservations } from "../../../origin/src/observations";
import { chTime } from "../../../origin/src/observations/rows";
import { corpusAvailable } from "../../support/corpus";
import { explorerSnapshot, fixturesOf, type Fixture } from "../../support/nettest-fixtures";
import { observeUpstream, prepareUpstream, unavailable, type HarnessItem, type UpstreamResult } from "../../support/upstream-pipeline";

// Conformance with upstream's pipeline for the tests other than web_connectivity (which
// conformance.test.ts covers with its analysis): upstream's transformers, unchanged from the
// snapshot, and ours over every real measurement of those tests we have — the corpus's and the
// fixtures in the ooni/backend and ooni/explorer snapshots — obs_web and obs_http_middlebox rows
// compared field by field. Deviations kept on purpose are in DEVIATIONS (and docs/compat.md).

const DEVIATIONS: Record<string, (field: string, ours: unknown, upstream: unknown) => boolean> = {
  // Time of writing: differs on every run, on both sides.
  created_at: (f) => f === "created_at",
  // Upstream looks the probe's AS up in its netinfo database (none here: empty); we keep the
  // probe's own probe_network_name.
  probe_as_org_name: (f, _o, u) => f === "probe_as_org_name" && u === "",
};

const TESTS = new Set([...OBSERVED_TESTS].filter((t) => t !== "web_connectivity"));

/**
 * dnscheck, urlgetter, stunreachability and echcheck have no real measurement in the corpus or the
 * snapshots. Their test keys are made of the same parts as the IM tests' (queries, tcp_connect,
 * tls_handshakes + network_events, requests), so measurements of theirs are derived from the real
 * IM measurements: same parts, arranged as each of these tests reports them. This checks the
 * per-test arrangement (bootstrap and lookups, control/target, DNS only) against upstream's.
 */
function derived(fixtures: Fixture[]): Fixture[] {
  const out: Fixture[] = [];
  const im = fixtures.filter((f) => ["signal", "telegram", "whatsapp"].includes(String(f.measurement.test_name)));
  const parts = (tk: Record<string, unknown>) => ({
    queries: tk.queries ?? null,
    tcp_connect: tk.tcp_connect ?? null,
    tls_handshakes: tk.tls_handshakes ?? null,
    network_events: tk.network_events ?? null,
    requests: tk.requests ?? null,
  });
  im.forEach((f, i) => {
    const m = f.measurement;
    const tk = (m.test_keys ?? {}) as Record<string, unknown>;
    const next = (im[(i + 1) % im.length]!.measurement.test_keys ?? {}) as Record<string, unknown>;
    const as = (test_name: string, test_keys: Record<string, unknown>, input: unknown = null): Fixture => ({
      source: `derived:${test_name} from ${f.source}`,
      measurement: { ...m, test_name, input, test_keys },
    });
    out.push(as("urlgetter", parts(tk), "https://example.org/"));
    const queries = Array.isArray(tk.queries) ? tk.queries : [];
    out.push(as("dnscheck", { bootstrap: { queries: queries.slice(0, 2) }, lookups: { "udp://8.8.8.8:53": parts(tk), "dot://1.1.1.1:853": parts(next) } }, "dot://dns.example/"));
    out.push(as("stunreachability", { queries }, "stun://stun.example.org:3478"));
    out.push(as("echcheck", { queries: tk.queries ?? null, tcp_connect: tk.tcp_connect ?? null, tls_handshakes: tk.tls_handshakes ?? null, network_events: tk.network_events ?? null }));
    const hs = Array.isArray(tk.tls_handshakes) ? tk.tls_handshakes : [];
    if (hs.length >= 2) out.push(as("echcheck", { control: hs[0], target: hs[1], network_events: tk.network_events ?? null }));
  });
  return out;
}
// The corpus is the base set (the snapshots' fixtures and the derived measurements add to it).
const suite = unavailable || !corpusAvailable ? describe.skip : describe;

function same(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a));
  if (Array.isArray(a) && Array.isArray(b)) {
    const bs: unknown[] = b;
    return a.length === bs.length && a.every((x, i) => same(x, bs[i]));
  }
  return (a ?? null) === (b ?? null);
}

interface Tally {
  rows: number;
  fields: number;
  deviations: Record<string, number>;
  mismatches: string[];
}

function compareRows(where: string, ours: readonly object[], theirs: readonly Record<string, unknown>[], t: Tally) {
  if (ours.length !== theirs.length) {
    t.mismatches.push(`${where}: ours ${ours.length} rows, upstream ${theirs.length}`);
    return;
  }
  ours.forEach((row, i) => {
    const mine = row as Record<string, unknown>;
    const up = theirs[i]!;
    t.rows++;
    for (const k of new Set([...Object.keys(mine), ...Object.keys(up)])) {
      t.fields++;
      if (same(mine[k], up[k])) continue;
      const dev = Object.entries(DEVIATIONS).find(([, applies]) => applies(k, mine[k], up[k]));
      if (dev) t.deviations[dev[0]] = (t.deviations[dev[0]] ?? 0) + 1;
      else t.mismatches.push(`${where}[${i}].${k}: ours ${JSON.stringify(mine[k])} upstream ${JSON.stringify(up[k])}`);
    }
  });
}

suite("observations of the other tests: conformance with upstream's transformers (ooni/data, unchanged)", () => {
  let items: (HarnessItem & { source: string })[];
  let upstream: UpstreamResult;
  const ours = new Map<string, MeasurementObservations | string>();
  let sources: string[];

  beforeAll(() => {
    const up = prepareUpstream();
    const found = fixturesOf(TESTS);
    sources = [...found.sources, "derived from the IM measurements"];
    items = [...found.fixtures, ...derived(found.fixtures)].map((f, i) => {
      const short = String(f.measurement.test_name).replaceAll("_", "");
      return { source: f.source, uid: `20240101000000.${String(i).padStart(6, "0")}_XX_${short}_${i.toString(16).padStart(16, "0")}`, bucket_date: "2024-01-01", measurement: f.measurement };
    });
    upstream = observeUpstream(up, items);
    const now = chTime(new Date());
    for (const it of items) {
      const r = observe(it.measurement, it.uid);
      ours.set(it.uid, r.kind === "ok" ? r.observations : r.kind === "failed" ? r.error : "not observed");
      if (r.kind === "ok") for (const row of [...r.observations.web, ...r.observations.middlebox]) row.created_at = now;
    }
  }, 1_200_000);

  it("obs_web and obs_http_middlebox rows agree field by field, test by test", () => {
    const t: Tally = { rows: 0, fields: 0, deviations: {}, mismatches: [] };
    const perTest: Record<string, { measurements: number; web: number; middlebox: number; rejected: number }> = {};
    const real = { measurements: 0, rows: 0, fields: 0 };
    for (const it of items) {
      const test = String(it.measurement.test_name);
      const c = (perTest[test] ??= { measurements: 0, web: 0, middlebox: 0, rejected: 0 });
      c.measurements++;
      const theirs = upstream.observations[it.uid]!;
      const mine = ours.get(it.uid)!;
      const where = `${it.source} (${test})`;
      if (theirs.error !== undefined || typeof mine === "string") {
        // Both sides must give up on the same measurements.
        if (theirs.error !== undefined && typeof mine === "string") c.rejected++;
        else t.mismatches.push(`${where}: ours ${typeof mine === "string" ? mine : "ok"}, upstream ${theirs.error ?? "ok"}`);
        continue;
      }
      c.web += mine.web.length;
      c.middlebox += mine.middlebox.length;
      const before = { rows: t.rows, fields: t.fields };
      compareRows(`${where}.web`, mine.web, theirs.web ?? [], t);
      compareRows(`${where}.middlebox`, mine.middlebox, theirs.middlebox ?? [], t);
      if (!it.source.startsWith("derived:")) {
        real.measurements++;
        real.rows += t.rows - before.rows;
        real.fields += t.fields - before.fields;
      }
      if (mine.ctrl.length + (theirs.ctrl?.length ?? 0) > 0) t.mismatches.push(`${where}: control rows from a test without a control`);
    }
    console.log(
      `other tests' observations (${sources.join(", ")}): ${items.length} measurements, ${t.rows} rows, ${t.fields} fields compared; ` +
        `of which real (not derived) and observed by both: ${JSON.stringify(real)}; per test ${JSON.stringify(perTest)}; deviations by design: ${JSON.stringify(t.deviations)}; unexplained: ${t.mismatches.length}`,
    );
    // OBS_CONFORMANCE_DUMP=file: every mismatch, for working through them.
    if (process.env.OBS_CONFORMANCE_DUMP) writeFileSync(process.env.OBS_CONFORMANCE_DUMP, t.mismatches.join("\n"));
    expect(t.mismatches.slice(0, 40)).toEqual([]);
    // Every test upstream observes besides web_connectivity was compared — facebook_messenger's
    // only real measurements are in the explorer snapshot.
    const missing = [...TESTS].filter((test) => !perTest[test]);
    expect(missing).toEqual(existsSync(explorerSnapshot) ? [] : ["facebook_messenger"]);
    expect(t.rows).toBeGreaterThan(50);
  });
});
