import { afterEach, describe, expect, it } from "vitest";
import { buildFingerprintSet } from "../../../origin/src/fastpath/fingerprints";
import { ScoringPool } from "../../../origin/src/fastpath/pipeline/pool";
import { scoreItem, type ScoreItem } from "../../../origin/src/fastpath/pipeline/score-item";
import { envelopeAroundMeasurementText } from "../../../origin/src/intake/post-file";
import { blockpageFingerprint, webConnectivity, type Verdict } from "./helpers";

// Real worker threads: same results as scoring in this thread, fingerprint updates in order, and a
// measurement that kills its thread costs only itself.

const pools: ScoringPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

function post(v: Verdict, n: number): ScoreItem {
  const data = envelopeAroundMeasurementText(JSON.stringify(webConnectivity(v, n, new Date("2024-03-01T10:00:00Z"))), "rid");
  return { kind: "post", uid: `20240301100001.000000_IT_webconnectivity_${n.toString(16).padStart(16, "0")}`, data };
}

describe("ScoringPool", () => {
  it("scores on threads exactly as in this thread, in order", async () => {
    const pool = new ScoringPool(2);
    pools.push(pool);
    const lists = { dns: [blockpageFingerprint], http: [], semantics: "fastpath" as const, version: "v1" };
    pool.setFingerprints(lists);
    const verdicts: Verdict[] = ["ok", "dns", "confirmed", "failed"];
    const items = Array.from({ length: 64 }, (_, i) => post(verdicts[i % 4]!, i));
    items.splice(5, 0, { kind: "post", uid: "junk", data: Buffer.from("not json") });
    const chunks = [items.slice(0, 20), items.slice(20, 40), items.slice(40)];
    const results = (await Promise.all(chunks.map((c) => pool.score(c)))).flat();
    const set = buildFingerprintSet(lists.dns, lists.http);
    expect(results).toEqual(items.map((item) => scoreItem(item, set)));
    expect(results[5]).toMatchObject({ ok: false });
    expect(results.filter((r) => r.ok && r.row.confirmed === "t")).toHaveLength(16);
  });

  it("applies a fingerprint update to every task submitted after it", async () => {
    const pool = new ScoringPool(1);
    pools.push(pool);
    const item = post("confirmed", 1);
    pool.setFingerprints({ dns: [], http: [], semantics: "fastpath", version: "a" });
    const before = pool.score([item]);
    pool.setFingerprints({ dns: [blockpageFingerprint], http: [], semantics: "fastpath", version: "b" });
    const after = pool.score([item]);
    const [[b], [a]] = await Promise.all([before, after]);
    expect(b).toMatchObject({ ok: true, row: { confirmed: "f" } });
    expect(a).toMatchObject({ ok: true, row: { confirmed: "t" } });
  });

  it("a measurement that exhausts a thread's memory is judged alone; its neighbours are scored", async () => {
    const pool = new ScoringPool(1, { resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 } });
    pools.push(pool);
    pool.setFingerprints({ dns: [], http: [], semantics: "fastpath", version: "" });
    // A million objects: far beyond a 32 MB heap once parsed.
    const huge = { ...webConnectivity("ok", 0), test_keys: { queries: Array.from({ length: 1_000_000 }, () => ({ a: 1 })) } };
    const poison: ScoreItem = { kind: "post", uid: "poison", data: envelopeAroundMeasurementText(JSON.stringify(huge), "rid") };
    const results = await pool.score([post("ok", 1), poison, post("dns", 2)]);
    expect(results[0]).toMatchObject({ ok: true, row: { anomaly: "f" } });
    expect(results[1]).toMatchObject({ ok: false });
    expect(results[1]!.ok === false && results[1]!.retryable).toBeFalsy();
    expect(results[2]).toMatchObject({ ok: true, row: { anomaly: "t" } });
    expect(pool.crashes).toBeGreaterThanOrEqual(2);
    // The pool still works afterwards.
    expect(await pool.score([post("ok", 3)])).toMatchObject([{ ok: true }]);
  });

  it("answers every pending task when closed", async () => {
    const pool = new ScoringPool(1);
    const pending = Array.from({ length: 5 }, (_, i) => pool.score([post("ok", i)]));
    await pool.close();
    for (const r of await Promise.all(pending)) expect(r).toHaveLength(1);
  });
});
