import { inject } from "vitest";
import { describe, expect, it } from "vitest";
import { openWebConnectivityReport, postViaEdge, probeNow } from "./support/submit";

// Measurements submitted through the edge Worker (workerd) come out of the origin's fastpath as
// rows with the right flags within seconds (docs/fastpath.md). Rows are read from the origin's
// measurements API directly: through the edge that GET may be cached. The origin's fingerprint
// tables are empty here, so the verdicts come from the probes' own test keys.

const originUrl = inject("originUrl");

describe("fastpath through the edge", () => {
  it("rows appear with the right flags within seconds", async () => {
    const host = `${crypto.randomUUID().slice(0, 8)}.fastpath.example`;
    const start = probeNow();
    const report_id = await openWebConnectivityReport(host, start);
    const cases = [
      { keys: { accessible: true, blocking: false }, flags: { anomaly: false, confirmed: false, failure: false } },
      { keys: { accessible: false, blocking: "dns" }, flags: { anomaly: true, confirmed: false, failure: false } },
      { keys: { accessible: null, blocking: null }, flags: { anomaly: false, confirmed: false, failure: true } },
    ];
    const uids: string[] = [];
    for (const [i, c] of cases.entries()) {
      const content = {
        probe_asn: "AS30722", probe_cc: "IT", test_name: "web_connectivity", test_version: "0.4.3", report_id,
        measurement_start_time: start, test_start_time: start, input: `https://example-${i}.org/`,
        software_name: "miniooni", software_version: "0.1.0-dev", data_format_version: "0.2.0", test_keys: c.keys,
      };
      uids.push((await postViaEdge<{ measurement_uid: string }>(host, `/report/${report_id}`, { format: "json", content })).measurement_uid);
    }
    const deadline = Date.now() + 30_000;
    let rows = new Map<string, { anomaly: boolean; confirmed: boolean; failure: boolean }>();
    while (Date.now() < deadline) {
      const res = await fetch(`${originUrl}/api/v1/measurements?report_id=${report_id}&limit=100`);
      if (res.status === 200) {
        const body = (await res.json()) as { results: { measurement_uid: string; anomaly: boolean; confirmed: boolean; failure: boolean }[] };
        rows = new Map(body.results.map((r) => [r.measurement_uid, r]));
        if (uids.every((u) => rows.has(u))) break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    cases.forEach((c, i) => {
      const r = rows.get(uids[i]!);
      expect(r, `row for ${uids[i]}`).toBeDefined();
      expect({ anomaly: r!.anomaly, confirmed: r!.confirmed, failure: r!.failure }).toEqual(c.flags);
    });
  });
});
