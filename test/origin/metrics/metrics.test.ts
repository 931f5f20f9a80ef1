import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { RunRecord } from "../../../origin/src/timers/history";
import { corpusAvailable, corpusPath } from "../../support/corpus";
import { startOriginProcess, type OriginProcess } from "../../support/origin-process";
import { runCli } from "../timers/cli-support";

// The real origin (`serve`, what `npm start` runs) on a loopback port: its in-process timers run a
// configured updater, an `update` typed while it runs goes through its admin socket, and /metrics
// is scraped over HTTP with every series the operations issue lists.

const suite = corpusAvailable ? describe : describe.skip;
if (!corpusAvailable) console.warn("skipping metrics/origin timer tests: the corpus is absent (set OONI_CORPUS_DIR)");

const EDGE_SECRET = "edge-secret-for-metrics-test-0123";
const SCRAPE_SECRET = "scrape-secret-0123456789";
let origin: OriginProcess;
let dataDir: string;
let scratch: string;

function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return null;
}

async function scrape(headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`${origin.url}/metrics`, { headers });
  return { status: res.status, text: await res.text() };
}

function history(job: string): RunRecord[] {
  const file = path.join(dataDir, "timers", "history", `${job}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { runs: RunRecord[] }).runs : [];
}

suite("origin timers and /metrics", () => {
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "metrics-origin-"));
    scratch = mkdtempSync(path.join(tmpdir(), "metrics-src-"));
    // One measurement waiting in the spool for an hour (the uploader job is disabled below).
    const hourDir = path.join(dataDir, "spool", "incoming", "2025010100_IT_webconnectivity");
    mkdirSync(hourDir, { recursive: true });
    const post = path.join(hourDir, "20250101000000.000000_IT_webconnectivity_0123456789abcdef.post");
    writeFileSync(post, "not a measurement");
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(post, hourAgo, hourAgo);

    origin = await startOriginProcess({
      dataDir,
      env: {
        EDGE_SHARED_SECRET: EDGE_SECRET,
        METRICS_SECRET: SCRAPE_SECRET,
        TESTLISTS_BOOTSTRAP_DIR: "none",
        FASTPATH_WORKERS: "1",
        // The timers as `npm start` runs them, without the settling delay and jitter.
        TIMERS_START_DELAY_S: "0",
        TIMERS_JITTER_S: "0",
        TIMERS_DISABLED: "uploader,backup",
        CITIZENLAB_SOURCE: corpusPath("citizenlab-test-lists"),
        // A tiny budget, so a few requests run out of it; only /api/_/ is metered, so which of the
        // other requests get through does not depend on how long each took.
        QUOTA_NETWORK_DAILY_S: "0.05",
        QUOTA_MIN_CHARGE_S: "0.02",
        QUOTA_EXEMPT_PATHS: "/health,/metrics,/no/*,/api/v1/*",
      },
    });
  });
  afterAll(async () => {
    await origin?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it("runs the configured jobs in the origin process", async () => {
    await vi.waitFor(() => expect(history("citizenlab").at(-1)?.outcome).toBe("ok"), { timeout: 60_000, interval: 250 });
    const run = history("citizenlab").at(-1)!;
    expect(run).toMatchObject({ trigger: "timer", pid: origin.child.pid });
    expect(run.summary).toMatch(/^citizenlab: 38\d{3} rows/);
    // Jobs without a source are not scheduled, so they leave no history.
    expect(history("fingerprints")).toEqual([]);
  });

  it("runs `update` typed while the origin owns the database inside the origin", async () => {
    const csv = path.join(scratch, "asn.csv");
    writeFileSync(csv, "asn,org_name,cc,changed,aut_name,source\n30722,Vodafone Italia S.p.A.,IT,2020-01-01,VODAFONE-IT,RIPE\n3215,Orange S.A.,FR,2019-05-01,AS3215,RIPE\n");
    const r = await runCli(["update", "asnmeta", "--source", csv], { DATA_DIR: dataDir });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^asnmeta: 2 entries for 2 networks/);
    expect(history("asnmeta").at(-1)).toMatchObject({ outcome: "ok", trigger: "manual", pid: origin.child.pid });
    const res = await fetch(`${origin.url}/api/_/asnmeta?asn=3215`);
    expect(await res.json()).toEqual({ org_name: "Orange S.A." });
  });

  it("serves /metrics only to allowed scrapers", async () => {
    // Through the edge (public bridge): refused, whatever address it claims.
    const viaEdge = await scrape({ "X-OONI-Edge-Auth": EDGE_SECRET, "X-Forwarded-For": "127.0.0.1" });
    expect(viaEdge.status).toBe(403);
    // The scrape secret admits from anywhere.
    const withSecret = await scrape({ "X-OONI-Edge-Auth": EDGE_SECRET, "X-Forwarded-For": "203.0.113.9", Authorization: `Bearer ${SCRAPE_SECRET}` });
    expect(withSecret.status).toBe(200);
    expect((await scrape({ Authorization: "Bearer wrong-secret-000000000" })).status).toBe(200); // loopback is on the default allowlist
  });

  it("exposes requests by route and status with latency histograms, quota rejections, spool, fastpath, uploader, updaters, tables", async () => {
    // Traffic: a parametrised route, an unknown path, and enough requests to exhaust the quota.
    await fetch(`${origin.url}/api/v1/measurement/not-a-uid`).then((r) => r.arrayBuffer());
    await fetch(`${origin.url}/no/such/path`).then((r) => r.arrayBuffer());
    let got429 = false;
    for (let i = 0; i < 20 && !got429; i++) {
      const r = await fetch(`${origin.url}/api/_/asnmeta?asn=3215`);
      await r.arrayBuffer();
      got429 = r.status === 429;
    }
    expect(got429).toBe(true);

    const { status, text } = await scrape();
    expect(status).toBe(200);
    expect(sample(text, "ooni_http_requests_total", { method: "GET", route: "/api/_/asnmeta", status: "200" })).toBeGreaterThan(0);
    expect(sample(text, "ooni_http_requests_total", { method: "GET", route: "/api/_/asnmeta", status: "429" })).toBeGreaterThan(0);
    expect(sample(text, "ooni_http_requests_total", { route: "/api/v1/measurement/:measurement_uid" })).toBe(1);
    expect(sample(text, "ooni_http_requests_total", { route: "unmatched", status: "404" })).toBeGreaterThan(0);
    expect(sample(text, "ooni_http_request_duration_seconds_bucket", { route: "/api/_/asnmeta", status: "200", le: "+Inf" })).toBeGreaterThan(0);
    expect(sample(text, "ooni_http_request_duration_seconds_count", { route: "/api/_/asnmeta", status: "200" })).toBeGreaterThan(0);
    expect(sample(text, "ooni_quota_rejections_total")).toBeGreaterThanOrEqual(1);

    expect(sample(text, "ooni_spool_depth")).toBe(1);
    expect(sample(text, "ooni_spool_oldest_age_seconds")).toBeGreaterThan(3000);
    expect(sample(text, "ooni_fastpath_lag_seconds")).not.toBeNull();
    expect(sample(text, "ooni_fastpath_pending")).not.toBeNull();
    expect(sample(text, "ooni_uploader_last_success_timestamp_seconds")).not.toBeNull();

    const now = Date.now() / 1000;
    for (const updater of ["citizenlab", "asnmeta"]) {
      const at = sample(text, "ooni_updater_last_success_timestamp_seconds", { updater });
      expect(at).toBeGreaterThan(now - 600);
      expect(sample(text, "ooni_timer_last_success_timestamp_seconds", { job: updater })).toBeGreaterThan(now - 600);
    }
    expect(sample(text, "ooni_table_rows", { table: "citizenlab" })).toBe(Number(/(\d+) rows/.exec(history("citizenlab").at(-1)!.summary)![1]));
    expect(sample(text, "ooni_table_rows", { table: "asnmeta" })).toBe(2);
    expect(sample(text, "ooni_geoip_build_timestamp_seconds", { db: "country" })).toBeGreaterThan(0);
    expect(sample(text, "ooni_timer_running", { job: "citizenlab" })).toBe(0);
    expect(sample(text, "ooni_process_resident_memory_bytes")).toBeGreaterThan(0);
  });
});
