import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startOriginProcess, type OriginProcess } from "../../support/origin-process";
import { runCli } from "../timers/cli-support";

// Measurements in → detector → /api/v1/detector/changepoints, against the real origin (`serve`,
// embedded chDB) on loopback. Twenty hourly web_connectivity measurements of twitter.com (a
// watched domain, as upstream) from one network: twelve hours fine, then eight where the probe's
// resolver answers NXDOMAIN. `analysis changepoints` (CLI, handed to the origin through the admin
// socket) runs over the fine hours; the `changepoints` timer job resumes where it ended, from the
// stored state, and finds the change.

const SLOW = { timeout: 300_000 };
const HOUR = 3_600_000;
let origin: OriginProcess;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "changepoints-e2e-"));
  origin = await startOriginProcess({ dataDir, env: { TIMERS_IN_ORIGIN: "false", FASTPATH_WORKERS: "1", TESTLISTS_BOOTSTRAP_DIR: "none" } });
}, 120_000);

afterAll(async () => {
  await origin?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const fmt = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16);

function keys(blocked: boolean) {
  const ctrl = { dns: { failure: null, addrs: ["104.244.42.1"] }, tcp_connect: { "104.244.42.1:443": { status: true, failure: null } }, http_request: { body_length: 1256, failure: null, status_code: 200, headers: {}, title: "X" } };
  if (blocked) {
    return {
      accessible: false, blocking: "dns", dns_experiment_failure: "dns_nxdomain_error",
      queries: [{ hostname: "twitter.com", query_type: "A", engine: "system", resolver_address: "", failure: "dns_nxdomain_error", answers: null, t: 0.05 }],
      tcp_connect: [], requests: [], control: ctrl,
    };
  }
  return {
    accessible: true, blocking: false,
    queries: [{ hostname: "twitter.com", query_type: "A", engine: "system", resolver_address: "", failure: null, t: 0.05, answers: [{ answer_type: "A", ipv4: "104.244.42.1" }] }],
    tcp_connect: [{ ip: "104.244.42.1", port: 443, status: { success: true, failure: null, blocked: false }, t: 0.1 }],
    requests: [], control: ctrl,
  };
}

async function post(p: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(`${origin.url}${p}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(r.status, await r.clone().text()).toBe(200);
  return (await r.json()) as Record<string, unknown>;
}

interface Entry {
  probe_asn: number;
  probe_cc: string;
  domain: string;
  start_time: string;
  change_dir: string;
  block_type: string;
  current_state: string;
  count: number;
  h: number;
}

async function changepoints(query: string): Promise<Entry[]> {
  const r = await fetch(`${origin.url}/api/v1/detector/changepoints?${query}`);
  expect(r.status).toBe(200);
  return ((await r.json()) as { results: Entry[] }).results;
}

describe("changepoint detector, end to end", () => {
  // The last hour the timer considers settled, and twenty hours before it.
  const settled = Math.floor((Date.now() - 30 * 60_000) / HOUR) * HOUR;
  const h0 = settled - 20 * HOUR;
  const hour = (i: number) => h0 + i * HOUR;

  it("finds the change from ok to blocked at the 7th blocked hour, across a CLI run and a timer run", SLOW, async () => {
    const common = { probe_asn: "AS30722", probe_cc: "IT", software_name: "ooniprobe-cli", software_version: "3.22.0", test_name: "web_connectivity", test_version: "0.4.3" };
    const { report_id } = await post("/report", { ...common, data_format_version: "0.2.0", format: "json", test_start_time: fmt(h0) });
    for (let i = 0; i < 20; i++) {
      const t = fmt(hour(i) + 10 * 60_000);
      await post(`/report/${report_id}`, {
        format: "json",
        content: { ...common, report_id, data_format_version: "0.2.0", input: "https://twitter.com/", measurement_start_time: t, test_start_time: t, test_keys: keys(i >= 12) },
      });
    }
    // The web analysis is written live, as each measurement arrives.
    await vi.waitFor(
      async () => {
        const r = await fetch(`${origin.url}/api/v1/analysis?probe_cc=IT&since=${iso(h0 - HOUR)}&limit=100`);
        expect(((await r.json()) as { results: unknown[] }).results).toHaveLength(20);
      },
      { timeout: 60_000, interval: 250 },
    );

    // The fine hours: the detector learns the series is ok, and reports nothing.
    const cli = await runCli(["analysis", "changepoints", "--start", iso(h0 - HOUR), "--end", iso(hour(12))], { DATA_DIR: dataDir });
    expect(cli.stderr).toBe("");
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/done: .* 1 windows, 1 series, 0 changepoints/);
    expect(await changepoints(`since=${iso(h0 - HOUR)}`)).toEqual([]);

    // The timer job resumes at the end of that run, from the stored state.
    const timer = await runCli(["timers", "run", "changepoints"], { DATA_DIR: dataDir });
    expect(timer.code, timer.stderr).toBe(0);
    // (Its window ends at the last settled hour: `settled`, or the next if the hour turned meanwhile.)
    expect(timer.stdout).toContain(`changepoints: ${new Date(hour(12)).toISOString()} → `);
    expect(timer.stdout).toMatch(/, 1 series, 1 changepoints/);

    const found = await changepoints(`since=${iso(h0 - HOUR)}`);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      probe_asn: 30722, probe_cc: "IT", domain: "twitter.com", change_dir: "up", current_state: "ok", count: 1, h: 3.5,
      start_time: `${new Date(hour(18)).toISOString().slice(0, 19)}Z`,
    });
    expect(found[0]!.block_type).toMatch(/^dns_(isp|other)_blocked$/);

    // Filters, as upstream: ASN with or without "AS", country, domain; a window without it.
    expect(await changepoints(`since=${iso(h0)}&probe_asn=AS30722`)).toHaveLength(1);
    expect(await changepoints(`since=${iso(h0)}&probe_asn=30722&probe_cc=IT&domain=twitter.com`)).toHaveLength(1);
    expect(await changepoints(`since=${iso(h0)}&probe_cc=IR`)).toEqual([]);
    expect(await changepoints(`since=${iso(h0)}&domain=facebook.com`)).toEqual([]);
    expect(await changepoints(`since=${iso(h0)}&until=${iso(hour(17))}`)).toEqual([]);

    // Re-running the whole range replaces its rows: still one changepoint.
    const again = await runCli(["analysis", "changepoints", "--start", iso(h0 - HOUR), "--end", iso(settled)], { DATA_DIR: dataDir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/1 series, 1 changepoints/);
    expect(await changepoints(`since=${iso(h0 - HOUR)}`)).toHaveLength(1);
  });

  it("answers bad parameters with a 400 JSON error", async () => {
    for (const q of ["probe_cc=italy", "probe_asn=ASX", "since=yesterday", `since=${iso(h0)}&until=${iso(h0 - HOUR)}`]) {
      const r = await fetch(`${origin.url}/api/v1/detector/changepoints?${q}`);
      expect(r.status, q).toBe(400);
      expect(((await r.json()) as { error: string }).error, q).toEqual(expect.any(String));
    }
  });

  it("the CLI explains its usage", async () => {
    const r = await runCli(["analysis", "changepoints", "--start", "2024-13-01"], { DATA_DIR: dataDir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--start must be a date[\s\S]*usage: npm run cli -- analysis changepoints/);
  });
});
