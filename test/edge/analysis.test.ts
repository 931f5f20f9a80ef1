import { exports } from "cloudflare:workers";
import { inject } from "vitest";
import { describe, expect, it } from "vitest";
import { openWebConnectivityReport, postViaEdge, probeNow } from "./support/submit";

// A web_connectivity measurement submitted through the edge Worker (workerd) has its web analysis
// row — LoNI values and the rule behind them — in /api/v1/analysis within seconds
// (docs/observations.md), read first from the origin (polling: through the edge the empty answer
// could be cached), then once through the bridge as a user would.

const worker = exports.default;
const originUrl = inject("originUrl");

/** web_connectivity 0.4 test keys: the probe's resolver says NXDOMAIN, the control resolves and connects. */
function nxdomainKeys(host: string) {
  return {
    accessible: false,
    blocking: "dns",
    dns_experiment_failure: "dns_nxdomain_error",
    queries: [{ hostname: host, query_type: "A", engine: "system", resolver_address: "", failure: "dns_nxdomain_error", answers: null, t: 0.05 }],
    tcp_connect: [],
    requests: [],
    control: {
      dns: { failure: null, addrs: ["93.184.215.14"] },
      tcp_connect: { "93.184.215.14:443": { status: true, failure: null } },
      http_request: { body_length: 1256, failure: null, status_code: 200, headers: {}, title: "Example" },
    },
  };
}

/** The probe's answer matches the control's and it connects. */
function okKeys(host: string) {
  return {
    accessible: true,
    blocking: false,
    queries: [
      {
        hostname: host, query_type: "A", engine: "system", resolver_address: "", failure: null, t: 0.05,
        answers: [{ answer_type: "A", ipv4: "93.184.215.15", asn: 15133, as_org_name: "Edgecast" }],
      },
    ],
    tcp_connect: [{ ip: "93.184.215.15", port: 443, status: { success: true, failure: null, blocked: false }, t: 0.1 }],
    requests: [],
    control: {
      dns: { failure: null, addrs: ["93.184.215.15"] },
      tcp_connect: { "93.184.215.15:443": { status: true, failure: null } },
      http_request: { body_length: 1256, failure: null, status_code: 200, headers: {}, title: "Example" },
    },
  };
}

interface AnalysisRow {
  measurement_uid: string;
  domain: string;
  dns_blocked: number;
  dns_ok: number;
  tcp_ok: number;
  top_dns_rule_id: string;
  top_tcp_rule_id: string;
  top_dns_failure: string | null;
}

describe("web analysis through the edge", () => {
  it("a submitted measurement is in /api/v1/analysis within seconds", async () => {
    const host = `${crypto.randomUUID().slice(0, 8)}.analysis.example`;
    const start = probeNow();
    const report_id = await openWebConnectivityReport(host, start);
    const sites = [
      { host: `blocked-${host}`, keys: nxdomainKeys(`blocked-${host}`) },
      { host: `ok-${host}`, keys: okKeys(`ok-${host}`) },
    ];
    const uids: string[] = [];
    for (const s of sites) {
      const content = {
        probe_asn: "AS30722", probe_cc: "IT", test_name: "web_connectivity", test_version: "0.4.3", report_id,
        measurement_start_time: start, test_start_time: start, input: `https://${s.host}/`, resolver_ip: "[scrubbed]",
        software_name: "miniooni", software_version: "0.1.0-dev", data_format_version: "0.2.0", test_keys: s.keys,
      };
      uids.push((await postViaEdge<{ measurement_uid: string }>(host, `/report/${report_id}`, { format: "json", content })).measurement_uid);
    }

    const t0 = Date.now();
    const rows = new Map<string, AnalysisRow>();
    while (Date.now() - t0 < 30_000 && rows.size < uids.length) {
      for (const uid of uids) {
        if (rows.has(uid)) continue;
        const res = await fetch(`${originUrl}/api/v1/analysis?measurement_uid=${uid}`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as { results: AnalysisRow[] };
        if (body.results[0]) rows.set(uid, body.results[0]);
      }
      if (rows.size < uids.length) await new Promise((r) => setTimeout(r, 100));
    }
    const latencyMs = Date.now() - t0;
    console.log(`analysis rows visible ${latencyMs} ms after the last submission`);

    const blocked = rows.get(uids[0]!);
    expect(blocked, "analysis row of the NXDOMAIN measurement").toBeDefined();
    expect(blocked).toMatchObject({ domain: sites[0]!.host, top_dns_rule_id: "dns_system_failure_ctrl_ok", top_dns_failure: "dns_nxdomain_error" });
    expect(blocked!.dns_blocked).toBeCloseTo(0.9, 5);
    const ok = rows.get(uids[1]!);
    expect(ok, "analysis row of the OK measurement").toBeDefined();
    expect(ok).toMatchObject({ top_dns_rule_id: "answer_matches_ctrl", top_tcp_rule_id: "connect_ok", dns_blocked: 0, tcp_ok: 1 });

    // What a user sees through the bridge: the same row, and the aggregation naming the DNS failure.
    const viaEdge = await worker.fetch(`https://${host}/api/v1/analysis?measurement_uid=${uids[0]}`);
    expect(viaEdge.status).toBe(200);
    expect(((await viaEdge.json()) as { results: AnalysisRow[] }).results[0]).toMatchObject({ top_dns_rule_id: "dns_system_failure_ctrl_ok" });
    const agg = await worker.fetch(`https://${host}/api/v1/aggregation/analysis?measurement_uid=${uids[0]}&axis_x=domain`);
    expect(agg.status).toBe(200);
    const aggBody = (await agg.json()) as { results: { count: number; loni: { blocked_max_outcome: string; dns_blocked_outcome: string } }[] };
    expect(aggBody.results[0]).toMatchObject({ count: 1, loni: { blocked_max_outcome: "dns.nxdomain", dns_blocked_outcome: "nxdomain" } });

    const obs = await fetch(`${originUrl}/api/v1/observations?measurement_uid=${uids[1]}`);
    const obsBody = (await obs.json()) as { results: { dns_answer: string; tcp_success: boolean; ip_is_bogon: boolean }[] };
    expect(obsBody.results).toHaveLength(1);
    expect(obsBody.results[0]).toMatchObject({ dns_answer: "93.184.215.15", tcp_success: true, ip_is_bogon: false });

    const bad = await worker.fetch(`https://${host}/api/v1/analysis?probe_cc=italy`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBeTruthy();
  });
});
