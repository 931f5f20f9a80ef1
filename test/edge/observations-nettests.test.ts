import { exports } from "cloudflare:workers";
import { inject } from "vitest";
import { describe, expect, it } from "vitest";
import { postViaEdge, probeNow } from "./support/submit";

// A measurement of a test other than web_connectivity (telegram), submitted through the edge
// Worker (workerd), has its obs_web rows — each tagged with the Telegram target it belongs to — in
// /api/v1/observations within seconds (docs/observations.md), read first from the origin
// (polling: through the edge the empty answer could be cached), then once through the bridge.

const worker = exports.default;
const originUrl = inject("originUrl");

/**
 * telegram 0.3.0 test keys: web.telegram.org resolves and connects; one datacentre times out; and
 * an HTTP request without a URL, as MK-era probes reported them.
 */
const TELEGRAM_KEYS = {
  telegram_http_blocking: false,
  telegram_tcp_blocking: false,
  telegram_web_status: "ok",
  telegram_web_failure: null,
  queries: [
    {
      hostname: "web.telegram.org", query_type: "A", engine: "system", resolver_address: "", failure: null, t: 0.02,
      answers: [{ answer_type: "A", ipv4: "149.154.167.99", asn: 62041, as_org_name: "Telegram Messenger Inc" }],
    },
  ],
  tcp_connect: [
    { ip: "149.154.167.99", port: 443, status: { success: true, failure: null, blocked: false }, t: 0.1 },
    { ip: "149.154.175.50", port: 443, status: { success: false, failure: "generic_timeout_error", blocked: true }, t: 10.1 },
  ],
  requests: [{ request: { url: "", method: "GET", headers: {} }, response: null, failure: "generic_timeout_error", t: 10.2 }],
  tls_handshakes: [],
  network_events: [],
};

interface ObservationRow {
  measurement_uid: string;
  test_name: string;
  observation_idx: number;
  target_id: string | null;
  hostname: string | null;
  ip: string | null;
  port: number | null;
  dns_answer: string | null;
  tcp_success: boolean | null;
  tcp_failure: string | null;
  http_failure: string | null;
}

describe("observations of a non-web test through the edge", () => {
  it("a submitted telegram measurement is in /api/v1/observations within seconds, its rows tagged by target", async () => {
    const host = `${crypto.randomUUID().slice(0, 8)}.telegram-obs.example`;
    const start = probeNow();
    const { report_id } = await postViaEdge<{ report_id: string }>(host, "/report", {
      data_format_version: "0.2.0", format: "json", probe_asn: "AS30722", probe_cc: "IT", software_name: "miniooni",
      software_version: "0.1.0-dev", test_name: "telegram", test_start_time: start, test_version: "0.3.0",
    });
    const content = {
      probe_asn: "AS30722", probe_cc: "IT", test_name: "telegram", test_version: "0.3.0", report_id, input: null,
      measurement_start_time: start, test_start_time: start, test_runtime: 10.5, resolver_ip: "[scrubbed]",
      software_name: "miniooni", software_version: "0.1.0-dev", data_format_version: "0.2.0", test_keys: TELEGRAM_KEYS,
    };
    const { measurement_uid: uid } = await postViaEdge<{ measurement_uid: string }>(host, `/report/${report_id}`, { format: "json", content });

    const t0 = Date.now();
    let rows: ObservationRow[] = [];
    while (Date.now() - t0 < 30_000 && rows.length < 3) {
      const res = await fetch(`${originUrl}/api/v1/observations?measurement_uid=${uid}`);
      expect(res.status).toBe(200);
      rows = ((await res.json()) as { results: ObservationRow[] }).results;
      if (rows.length < 3) await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`telegram observation rows visible ${Date.now() - t0} ms after submission`);
    rows.sort((a, b) => a.observation_idx - b.observation_idx);
    expect(rows.map((r) => [r.observation_idx, r.target_id, r.hostname, r.ip, r.port, r.dns_answer, r.tcp_success, r.tcp_failure, r.http_failure])).toEqual([
      [1, "telegram/web", "web.telegram.org", "149.154.167.99", 443, "149.154.167.99", true, null, null],
      [2, "telegram/dc_pool", null, "149.154.175.50", 443, null, false, "generic_timeout_error", null],
      // No target: upstream's API falls back to the hostname, but an empty one does not count.
      [3, null, "", null, null, null, null, null, "generic_timeout_error"],
    ]);
    expect(rows.every((r) => r.test_name === "telegram" && r.measurement_uid === uid)).toBe(true);

    // What a user sees through the bridge: the same rows, and the aggregation by test.
    const viaEdge = await worker.fetch(`https://${host}/api/v1/observations?measurement_uid=${uid}`);
    expect(viaEdge.status).toBe(200);
    expect(((await viaEdge.json()) as { results: ObservationRow[] }).results).toHaveLength(3);
    const agg = await worker.fetch(`https://${host}/api/v1/aggregation/observations?measurement_uid=${uid}&group_by=test_name`);
    expect(agg.status).toBe(200);
    expect(((await agg.json()) as { results: { test_name: string; observation_count: number }[] }).results).toEqual([
      expect.objectContaining({ test_name: "telegram", observation_count: 3 }),
    ]);

    // No web analysis for a test that has none (upstream's analysis is web_connectivity's only).
    const analysis = await fetch(`${originUrl}/api/v1/analysis?measurement_uid=${uid}`);
    expect(((await analysis.json()) as { results: unknown[] }).results).toEqual([]);
  });
});
