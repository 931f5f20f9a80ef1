import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runThroughSocket } from "../../../origin/src/admin/client";
import { adminSocketPath } from "../../../origin/src/admin/protocol";
import { queryRows } from "../../../origin/src/db/clickhouse";
import { startOriginProcess, type OriginProcess } from "../../support/origin-process";
import { blockpageFingerprint, eventually, expected, openTempDb, tempDir, webConnectivity, type Verdict } from "./helpers";

// The whole path in the real origin process: HTTP submission → spool → fastpath → ClickHouse,
// read back through the measurements API. Then a SIGKILL mid-stream and a restart (nothing lost,
// nothing twice), then ClickHouse "down" (FASTPATH_TEST_FAULT_CLICKHOUSE_DOWN_FILE): the intake
// keeps answering 200 and the rows appear once it is back.

const tmp = tempDir("e2e");
const dataDir = path.join(tmp.dir, "data");
const faultFile = path.join(tmp.dir, "clickhouse-down");
let origin: OriginProcess | null = null;

const ENV = {
  FASTPATH_TEST_FAULT_CLICKHOUSE_DOWN_FILE: faultFile,
  FASTPATH_WORKERS: "1",
  FASTPATH_FLUSH_MS: "200",
  QUOTAS_ENABLED: "false",
};

async function start(): Promise<OriginProcess> {
  origin = await startOriginProcess({ dataDir, env: ENV });
  return origin;
}

interface Submitted {
  uid: string;
  verdict: Verdict;
  reportId: string;
}

async function openReport(url: string): Promise<string> {
  const r = await fetch(`${url}/report`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      data_format_version: "0.2.0",
      format: "json",
      probe_asn: "AS30722",
      probe_cc: "IT",
      software_name: "ooniprobe-cli",
      software_version: "3.22.0",
      test_name: "web_connectivity",
      test_start_time: "2024-01-01 00:00:00",
      test_version: "0.4.3",
    }),
  });
  expect(r.status).toBe(200);
  return ((await r.json()) as { report_id: string }).report_id;
}

async function submit(url: string, reportId: string, verdict: Verdict, n: number): Promise<Submitted> {
  const msm = { ...webConnectivity(verdict, n), report_id: reportId };
  const r = await fetch(`${url}/report/${reportId}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ format: "json", content: msm }),
  });
  expect(r.status, await r.clone().text()).toBe(200);
  return { uid: ((await r.json()) as { measurement_uid: string }).measurement_uid, verdict, reportId };
}

interface ApiResult {
  measurement_uid: string;
  anomaly: boolean;
  confirmed: boolean;
  failure: boolean;
}

async function listed(url: string, reportId: string): Promise<Map<string, ApiResult>> {
  const r = await fetch(`${url}/api/v1/measurements?report_id=${reportId}&limit=1000`);
  if (r.status !== 200) throw new Error(`measurements API answered ${r.status}: ${await r.text()}`);
  const body = (await r.json()) as { results: ApiResult[] };
  return new Map(body.results.map((x) => [x.measurement_uid, x]));
}

async function allScored(url: string, subs: Submitted[], what: string): Promise<Map<string, ApiResult>> {
  const reports = [...new Set(subs.map((s) => s.reportId))];
  return eventually(async () => {
    const seen = new Map<string, ApiResult>();
    for (const rid of reports) for (const [k, v] of await listed(url, rid)) seen.set(k, v);
    return subs.every((s) => seen.has(s.uid)) ? seen : undefined;
  }, 60_000, what);
}

function checkFlags(seen: Map<string, ApiResult>, subs: Submitted[]): void {
  for (const s of subs) {
    const e = expected[s.verdict];
    expect({ ...seen.get(s.uid) }, s.uid).toMatchObject({ anomaly: e.anomaly === "t", confirmed: e.confirmed === "t", failure: e.msm_failure === "t" });
  }
}

async function spoolUids(): Promise<Set<string>> {
  const incoming = path.join(dataDir, "spool", "incoming");
  const out = new Set<string>();
  for (const dir of await readdir(incoming)) {
    for (const f of await readdir(path.join(incoming, dir))) if (f.endsWith(".post")) out.add(f.slice(0, -5));
  }
  return out;
}

beforeAll(() => {
  mkdirSync(dataDir, { recursive: true });
});

afterAll(async () => {
  await origin?.kill();
  tmp.cleanup();
});

describe("fastpath end to end (real origin process)", () => {
  const all: Submitted[] = [];

  it("measurements submitted over HTTP appear as rows with the right flags within seconds", async () => {
    const o = await start();
    // Fingerprints through the admin socket, as `npm run cli -- fingerprints load DIR` does.
    const fpDir = path.join(tmp.dir, "fingerprints");
    mkdirSync(fpDir, { recursive: true });
    const header = "name,scope,other_names,location_found,pattern_type,pattern,confidence_no_fp,expected_countries,source,exp_url,notes\n";
    const f = blockpageFingerprint;
    writeFileSync(path.join(fpDir, "fingerprints_dns.csv"), `${header}${f.name},${f.scope},,dns,full,${f.pattern},5,IR,test,,\n`);
    writeFileSync(path.join(fpDir, "fingerprints_http.csv"), header);
    let out = "";
    const code = await runThroughSocket(adminSocketPath(dataDir), "fingerprints", ["load", fpDir], {
      out: (t) => (out += t),
      err: (t) => (out += t),
      interactive: false,
    }, new AbortController().signal);
    expect(code, out).toBe(0);
    expect(out).toContain("the running fastpath uses them now");

    const reportId = await openReport(o.url);
    const verdicts: Verdict[] = ["ok", "dns", "confirmed", "failed"];
    const subs: Submitted[] = [];
    for (let i = 0; i < 20; i++) subs.push(await submit(o.url, reportId, verdicts[i % 4]!, i));
    all.push(...subs);
    checkFlags(await allScored(o.url, subs, "rows for 20 submissions"), subs);
  });

  it("SIGKILL mid-stream, restart: nothing lost, nothing twice", async () => {
    let o = origin!;
    const reportId = await openReport(o.url);
    const accepted: Submitted[] = [];
    // Submissions keep flowing while the process is killed under them.
    const stream = (async () => {
      for (let i = 0; i < 1000; i++) {
        try {
          accepted.push(await submit(o.url, reportId, i % 2 ? "dns" : "ok", 100 + i));
        } catch {
          return; // connection refused/reset: the origin is gone
        }
      }
    })();
    await eventually(() => (accepted.length >= 30 ? true : undefined), 30_000, "30 accepted");
    await o.kill();
    await stream;
    expect(accepted.length).toBeGreaterThanOrEqual(30);
    all.push(...accepted);

    o = await start();
    // More after the restart, in the same report.
    for (let i = 0; i < 10; i++) all.push(await submit(o.url, reportId, "confirmed", 2000 + i));
    checkFlags(await allScored(o.url, all, "every accepted measurement scored after the restart"), all);
  });

  it("ClickHouse unavailable: intake keeps answering 200; rows appear once it is back", async () => {
    const o = origin!;
    writeFileSync(faultFile, "");
    const reportId = await openReport(o.url);
    const during: Submitted[] = [];
    for (let i = 0; i < 15; i++) during.push(await submit(o.url, reportId, i % 3 ? "dns" : "ok", 3000 + i));
    // Scored but not inserted: the fault injector fails every fastpath INSERT (and says so).
    await eventually(() => (o.logs.some((l) => l.includes("fastpath insert failed")) ? true : undefined), 20_000, "a failed INSERT");
    expect((await listed(o.url, reportId)).size).toBe(0);
    rmSync(faultFile);
    all.push(...during);
    checkFlags(await allScored(o.url, during, "rows after ClickHouse is back"), during);
  });

  it("fastpath reprocess runs inside the running origin (admin socket)", async () => {
    let out = "";
    const io = { out: (t: string) => (out += t), err: (t: string) => (out += t), interactive: false };
    const code = await runThroughSocket(adminSocketPath(dataDir), "fastpath-reprocess", ["--prefix", "raw/1999"], io, new AbortController().signal);
    expect(code, out).toBe(0);
    expect(out).toContain("no .jsonl.gz files under raw/1999");
  });

  it("no duplicates in ClickHouse, and every row is a spooled measurement", async () => {
    await origin!.stop();
    origin = null;
    expect(existsSync(faultFile)).toBe(false);
    const db = await openTempDb(dataDir);
    try {
      const [c] = await queryRows<{ final: number; distinct: number }>(
        db,
        "SELECT (SELECT count() FROM fastpath FINAL) AS final, (SELECT uniqExact(measurement_uid) FROM fastpath) AS distinct",
      );
      expect(Number(c!.final)).toBe(Number(c!.distinct));
      const uids = new Set((await queryRows<{ u: string }>(db, "SELECT measurement_uid AS u FROM fastpath FINAL")).map((r) => r.u));
      for (const s of all) expect(uids.has(s.uid), s.uid).toBe(true);
      // A submission cut by the kill may be stored without its 200 reaching us: a row, rightly.
      const spooled = await spoolUids();
      for (const u of uids) expect(spooled.has(u), u).toBe(true);
      expect(uids.size).toBe(spooled.size);
    } finally {
      await db.close();
    }
  });
});
