import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type Upstream } from "./support";

// ooni/backend ooniapi/services/oonimeasurements/tests/test_event_detection.py (32d8349d), as our
// tests: its assertions on /api/v1/detector/changepoints, on rows written here in the shape of its
// fixture's cases (upstream's fixture itself is not copied).

let u: Upstream;
const row = (asn: number, cc: string, domain: string, ts: string, dir: 1 | -1, blockType: string) => ({
  probe_asn: asn, probe_cc: cc, domain, ts, count_isp_resolver: 1, count_other_resolver: 0, count: 1,
  dns_isp_blocked: 0, dns_other_blocked: null, tcp_blocked: dir === 1 ? 0.75 : 0, tls_blocked: 0,
  change_dir: dir, s_pos: 3.6, s_neg: 0, current_state: dir === 1 ? "ok" : "blk", h: 3.5, block_type: blockType,
});

beforeAll(async () => {
  u = await startUpstream();
  await u.origin.services.db.client.insert({
    table: "event_detector_changepoints",
    values: [
      row(945, "US", "www.facebook.com", "2024-01-15 18:00:00.000", -1, "tcp_blocked"),
      row(15169, "VE", "google.com", "2024-01-25 23:00:00.000", -1, "tls_blocked"),
      row(8767, "DE", "twitter.com", "2024-01-12 22:00:00.000", 1, "tcp_blocked"),
      row(8048, "VE", "amazon.com", "2024-01-29 22:00:00.000", 1, "tcp_blocked"),
      row(8048, "VE", "google.com", "2024-01-23 04:00:00.000", -1, "tcp_blocked"),
    ],
    format: "JSONEachRow",
  });
});
afterAll(async () => {
  await u?.close();
});

const SINCE = "2024-01-01T00:00:00+00:00";
const UNTIL = "2024-01-30T00:00:00+00:00";
async function list(params: Record<string, string>, window = true) {
  const q = new URLSearchParams(window ? { since: SINCE, until: UNTIL, ...params } : params);
  const r = await u.req("GET", `/api/v1/detector/changepoints?${q}`);
  expect(r.status, r.text).toBe(200);
  return r.json.results as Record<string, unknown>[];
}

describe("detector/changepoints", () => {
  it("test_changepoint_list_basic: results in the window", async () => {
    expect((await list({})).length).toBeGreaterThan(0);
  });

  it.each([
    ["probe_asn", "8048"],
    ["probe_asn", "AS8048"],
    ["probe_cc", "VE"],
    ["domain", "google.com"],
  ])("test_changepoint_filter_basic: %s=%s", async (k, v) => {
    const results = await list({ [k]: v });
    expect(results.length).toBeGreaterThan(0);
    for (const r of results) {
      if (k === "probe_asn") expect(r.probe_asn).toBe(8048);
      else expect(r[k]).toBe(v);
    }
  });

  it("test_changepoint_date_filter: start_time within since..until; an empty window", async () => {
    const results = await list({});
    for (const r of results) {
      const t = Date.parse(r.start_time as string);
      expect(t).toBeGreaterThanOrEqual(Date.parse(SINCE));
      expect(t).toBeLessThanOrEqual(Date.parse(UNTIL));
    }
    expect(await list({ since: "2021-01-01T00:00:00+00:00", until: "2021-01-30T00:00:00+00:00" }, false)).toEqual([]);
  });

  it("test_changepoint_change_dir_values: up/down from ±1", async () => {
    for (const r of await list({})) expect(["up", "down"]).toContain(r.change_dir);
    expect((await list({ probe_cc: "VE", probe_asn: "15169", domain: "google.com" }))[0]).toMatchObject({ change_dir: "down" });
    expect((await list({ probe_cc: "VE", probe_asn: "8048", domain: "amazon.com" }))[0]).toMatchObject({ change_dir: "up" });
  });

  it("test_changepoint_field_present: block_type on every entry; the entry's fields and types", async () => {
    const results = await list({ domain: "amazon.com" });
    expect(results[0]).toEqual({
      probe_asn: 8048, probe_cc: "VE", domain: "amazon.com", start_time: "2024-01-29T22:00:00Z",
      count_isp_resolver: 1, count_other_resolver: 0, count: 1,
      dns_isp_blocked: 0, dns_other_blocked: null, tcp_blocked: 0.75, tls_blocked: 0,
      change_dir: "up", current_state: "ok", s_pos: expect.closeTo(3.6, 5), s_neg: 0, h: 3.5, block_type: "tcp_blocked",
    });
  });
});
