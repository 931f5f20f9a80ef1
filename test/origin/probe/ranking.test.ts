import { describe, expect, it } from "vitest";
import { generateReportId, generateReportIds, parseReportId } from "../../../origin/src/intake/report-id";
import { Ranking } from "../../../origin/src/testlists/snapshot/ranking";

// The pieces that make a check-in cheap: a country's URL order drawn from a prebuilt ranking, and
// the 21 report ids made in one go.

function ranking(weights: number[]): Ranking {
  return Ranking.build(Uint32Array.from(weights.map((_, i) => i)), Float64Array.from(weights), weights.length);
}
function take(r: Ranking, limit: number): [number, number][] {
  const out: [number, number][] = [];
  r.take(limit, (i, w) => out.push([i, w]));
  return out;
}

describe("Ranking", () => {
  it("gives the highest weights first, each candidate once, as many as asked", () => {
    const weights = [1, 10, 5, 10, 0.5, 5, 5, 20];
    const r = ranking(weights);
    const all = take(r, 100);
    expect(all.map(([, w]) => w)).toEqual([20, 10, 10, 5, 5, 5, 1, 0.5]);
    expect(all.map(([i]) => i).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const [i, w] of all) expect(weights[i]).toBe(w);
    expect(take(r, 3).map(([, w]) => w)).toEqual([20, 10, 10]);
    expect(take(ranking([]), 10)).toEqual([]);
  });

  it("orders equal weights at random, uniformly, on every take (also when cut inside a group)", () => {
    // One candidate above a group of four equal ones; take 3: which two of the four come, in which order.
    const r = ranking([1, 1, 1, 1, 2]);
    const seen = new Map<string, number>();
    const N = 12_000;
    for (let n = 0; n < N; n++) {
      const got = take(r, 3).map(([i]) => i);
      expect(got[0]).toBe(4);
      const key = got.slice(1).join(",");
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    // 4 × 3 ordered pairs, each expected N/12 = 1000 times.
    expect(seen.size).toBe(12);
    for (const count of seen.values()) {
      expect(count).toBeGreaterThan(800);
      expect(count).toBeLessThan(1200);
    }
  });
});

describe("generateReportIds", () => {
  it("one well-formed, distinct report_id per test, shaped as generateReportId's", () => {
    const names = ["web_connectivity", "tor", "dnscheck"];
    const now = new Date("2024-02-14T09:06:17Z");
    const ids = generateReportIds(names, "IT", 30722, "3", now);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
    const single = generateReportId("web_connectivity", "IT", 30722, "3", now);
    expect(ids[0]!.slice(0, -16)).toBe(single.slice(0, -16));
    ids.forEach((id, i) => {
      expect(id).toMatch(/^20240214T090617Z_[a-z]+_IT_30722_n3_[A-Za-z0-9]{16}$/);
      expect(parseReportId(id)).toMatchObject({ testName: names[i]!.replace(/_/g, ""), cc: "IT", asn: 30722 });
    });
  });

  it("never repeats randomness across calls (the random bytes come from a pool refilled as it runs out)", () => {
    const names = Array.from({ length: 21 }, (_, i) => `test_${i}`);
    const seen = new Set<string>();
    // 1,000 check-ins' worth: several pool refills.
    for (let k = 0; k < 1000; k++) for (const id of generateReportIds(names, "IT", 30722, "3")) seen.add(id.slice(-16));
    expect(seen.size).toBe(21_000);
  });
});
