import { beforeAll, describe, expect, it } from "vitest";
import type { FastpathRow } from "../../../origin/src/fastpath/row";
import { fingerprintsFor, itemsFor, scoreBoth, type Item, type Outcome } from "../../support/upstream-fastpath/compare";
import { collectFixtures, type Fixture } from "../../support/upstream-fastpath/fixtures";
import { locateUpstreamFastpath } from "../../support/upstream-fastpath/locate";

// Our fastpath against OONI's own (ooni/backend `fastpath.core`, run unchanged by
// test/support/upstream-fastpath/harness.py with only its ClickHouse client, S3 and HTTP feeders
// stubbed) on every measurement fixture we can find (corpus, upstream's fastpath test data, ooni/spec
// examples, probe-cli testdata), each with a measurement_uid dated just after the measurement and
// one dated 2026-12-07 (so the date rules fire), plus variants of one fixture per test name
// exercising the drop rules and missing test_keys. The rows must be identical, column by column
// and byte for byte in `scores`, except the deviations docs/compat.md lists under "Fastpath":
//   A. upstream raised (e.g. KeyError on a missing probe_asn or measurement_start_time) and wrote
//      no row; we keep the measurement's row, with defaults for what is missing;
//   B. upstream also writes obs_openvpn rows for openvpn measurements; we do not.
// Skips, saying why, when the ooni/backend snapshot, the corpus or Python are not available.

const located = locateUpstreamFastpath();
const FIXED_NOW = new Date(Date.UTC(2026, 11, 7));

type Variant = [string, (m: Record<string, unknown>) => void];
const VARIANTS: Variant[] = [
  ["test_keys null", (m) => (m.test_keys = null)],
  ["test_keys missing", (m) => delete m.test_keys],
  ["probe_cc ZZ", (m) => (m.probe_cc = "ZZ")],
  ["probe_cc zz", (m) => (m.probe_cc = "zz")],
  ["probe_asn AS0", (m) => (m.probe_asn = "AS0")],
  ["report_id null", (m) => (m.report_id = null)],
  ["report_id missing", (m) => delete m.report_id],
];

/** One fixture per test name (the first by id), rewritten by each variant. */
function variants(fixtures: Fixture[]): Fixture[] {
  const first = new Map<string, Fixture>();
  for (const f of [...fixtures].sort((a, b) => (a.id < b.id ? -1 : 1))) if (!first.has(f.testName)) first.set(f.testName, f);
  const out: Fixture[] = [];
  for (const f of first.values()) {
    for (const [label, edit] of VARIANTS) {
      const m = JSON.parse(f.text) as Record<string, unknown>;
      edit(m);
      out.push({ ...f, id: `${f.id} [${label}]`, text: JSON.stringify(m) });
    }
  }
  return out;
}

function countBy(keys: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

function isRow(x: Outcome["ours"]): x is FastpathRow {
  return "measurement_uid" in x;
}

/** Column-by-column differences; empty when identical. */
function columnDiffs(upstream: Record<string, unknown>, ours: FastpathRow): string[] {
  const diffs: string[] = [];
  const cols = new Set([...Object.keys(upstream), ...Object.keys(ours)]);
  for (const c of cols) {
    const a = upstream[c];
    const b = (ours as unknown as Record<string, unknown>)[c];
    if (!(c in upstream) || !(c in ours)) diffs.push(`${c}: only in ${c in upstream ? "upstream" : "ours"}`);
    else if (a !== b && JSON.stringify(a) !== JSON.stringify(b)) diffs.push(`${c}: upstream ${JSON.stringify(a)} ours ${JSON.stringify(b)}`);
  }
  return diffs;
}

if (!located.ok) {
  console.warn(`fastpath upstream conformance skipped: ${located.reason}`);
}

(located.ok ? describe : describe.skip)(
  `fastpath rows identical to OONI's own fastpath (${located.ok ? `ooni/backend ${located.upstream.revision.slice(0, 8)}` : `skipped: ${located.reason}`})`,
  () => {
    let fixtures: Fixture[] = [];
    let outcomes: Outcome[] = [];
    let items: Item[] = [];

    beforeAll(async () => {
      if (!located.ok) return;
      const set = collectFixtures(located.upstream.backendDir);
      if (set.missing.length) console.warn(`fastpath upstream conformance: sources not found: ${set.missing.join("; ")}`);
      fixtures = set.fixtures;
      items = itemsFor([...fixtures, ...variants(fixtures)], FIXED_NOW);
      outcomes = scoreBoth(located.upstream, items, await fingerprintsFor(located.upstream));
      const names = new Set(fixtures.map((f) => f.testName));
      console.log(
        `fastpath upstream conformance: ${fixtures.length} fixtures of ${names.size} test names ` +
          `(${[...countBy(fixtures.map((f) => f.source))].map(([s, n]) => `${s} ${n}`).join(", ")}; ` +
          `spec/probe-cli: ${JSON.stringify(set.revisions)}), ${items.length} rows compared`,
      );
    }, 300_000);

    it("finds fixtures from every source, of many test names", () => {
      const sources = new Set(fixtures.map((f) => f.source));
      expect([...sources].sort()).toEqual(expect.arrayContaining(["backend", "corpus"]));
      expect(fixtures.length).toBeGreaterThanOrEqual(40);
      expect(new Set(fixtures.map((f) => f.testName)).size).toBeGreaterThanOrEqual(15);
    });

    it("every row is identical, column by column, except the listed deviations", () => {
      const problems: string[] = [];
      let identical = 0;
      let keptWhereUpstreamRaised = 0;
      for (const { item, upstream, ours } of outcomes) {
        const up = upstream.rows[0];
        if (upstream.rows.length > 1) problems.push(`${item.id}: upstream wrote ${upstream.rows.length} rows`);
        if (!up) {
          if (upstream.errors.length > 0 && isRow(ours)) {
            keptWhereUpstreamRaised++; // deviation A
            continue;
          }
          if (upstream.errors.length === 0 && !isRow(ours)) continue; // both drop it (ZZ, AS0, no report id)
          problems.push(`${item.id}: upstream no row (${upstream.errors.join("; ") || "dropped"}), ours ${JSON.stringify(isRow(ours) ? "a row" : ours)}`);
          continue;
        }
        if (!isRow(ours)) {
          problems.push(`${item.id}: upstream wrote a row, ours ${JSON.stringify(ours)}`);
          continue;
        }
        const diffs = columnDiffs(up, ours);
        if (diffs.length) problems.push(`${item.id}: ${diffs.join(" | ")}`);
        else identical++;
      }
      console.log(`fastpath upstream conformance: ${identical} identical rows, ${keptWhereUpstreamRaised} kept where upstream raised`);
      expect(problems).toEqual([]);
      expect(identical).toBeGreaterThanOrEqual(fixtures.length);
    });

    it("obs_openvpn: upstream writes it for openvpn measurements only (we do not: deviation B)", () => {
      for (const { item, upstream } of outcomes) {
        if (upstream.openvpn.length > 0) expect(item.testName, item.id).toBe("openvpn");
      }
      expect(outcomes.some((o) => o.upstream.openvpn.length > 0)).toBe(true);
    });

    it("the drop rules and the {} rule for test_keys hold on both sides for every test name", () => {
      const byLabel = (label: string) => outcomes.filter((o) => o.item.id.includes(`[${label}]`));
      for (const label of ["probe_cc ZZ", "probe_cc zz", "probe_asn AS0", "report_id null", "report_id missing"]) {
        const list = byLabel(label);
        expect(list.length).toBeGreaterThan(0);
        for (const o of list) {
          expect(o.upstream.rows, o.item.id).toEqual([]);
          expect(isRow(o.ours), o.item.id).toBe(false);
        }
      }
      for (const label of ["test_keys null", "test_keys missing"]) {
        const list = byLabel(label).filter((o) => o.upstream.rows.length > 0);
        expect(list.length).toBeGreaterThan(10);
        for (const o of list) expect(isRow(o.ours) && o.ours.scores, o.item.id).toBe(o.upstream.rows[0]!.scores);
      }
    });
  },
);
