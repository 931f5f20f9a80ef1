import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommandOutput } from "../../../origin/src/commands/types";
import type { Database } from "../../../origin/src/db/clickhouse";
import { fingerprintsCommand } from "../../../origin/src/fastpath/commands";
import { startFastpath } from "../../../origin/src/fastpath/pipeline";
import { FastpathStore } from "../../../origin/src/fastpath/pipeline/store";
import { makeMeasurementUid } from "../../../origin/src/intake/measurement-uid";
import { envelopeAroundMeasurementText } from "../../../origin/src/intake/post-file";
import type { Services } from "../../../origin/src/services";
import { corpusAvailable, corpusPath } from "../../support/corpus";
import { repoRoot } from "../../support/origin-process";
import { eventually, openTempDb, pipelineConfig, REPORT_ID, rowsFor, silent, spoolMeasurement, tempDir, webConnectivity } from "./helpers";
import { Spool } from "../../../origin/src/intake/spool";

// `fastpath score` as users run it (a child process, stdout parsed line by line) and
// `fingerprints load` against a temp ClickHouse.

const tmp = tempDir("commands");

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(repoRoot, "origin/src/cli.ts"), ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", DATA_DIR: path.join(tmp.dir, "cli-data"), LOG_LEVEL: "warn" },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function capture(): CommandOutput & { out_: string; err_: string } {
  const io = {
    out_: "",
    err_: "",
    interactive: false,
    out(t: string) {
      io.out_ += t;
    },
    err(t: string) {
      io.err_ += t;
    },
  };
  return io;
}

const KEYS = ["file", "test_name", "measurement_uid", "scores", "anomaly", "confirmed", "failure", "blocking_type"];

afterAll(() => tmp.cleanup());

describe("fastpath score (CLI, no database)", () => {
  it("prints one line per measurement: .json, .post envelopes, legacy YAML reports with several entries", () => {
    const dir = path.join(tmp.dir, "files");
    mkdirSync(dir, { recursive: true });
    const msm = webConnectivity("dns", 1);
    const json = path.join(dir, "m.json");
    writeFileSync(json, JSON.stringify(msm));
    const stored = envelopeAroundMeasurementText(JSON.stringify(webConnectivity("failed", 2)), REPORT_ID);
    const uid = makeMeasurementUid("IT", "webconnectivity", stored);
    const post = path.join(dir, `${uid}.post`);
    writeFileSync(post, stored);
    const yaml = path.join(dir, "legacy.yaml");
    writeFileSync(
      yaml,
      "---\nprobe_asn: AS1\nprobe_cc: SG\nsoftware_name: ooniprobe\nsoftware_version: 1.3.2\nstart_time: 1532619434.0\n" +
        "test_name: http_invalid_request_line\ntest_version: '0.2'\ntest_start_time: '2018-07-26 23:37:23'\nreport_id: r1\n...\n" +
        "---\ninput: null\nmeasurement_start_time: '2018-07-26 23:37:24'\nsent: ['GET / HTTP/1.1']\nreceived: ['GET / HTTP/1.1']\n...\n" +
        "---\ninput: null\nmeasurement_start_time: '2018-07-26 23:37:25'\nsent: ['GET / HTTP/1.1']\nreceived: ['HTTP/1.1 400 Bad']\n...\n",
    );
    const broken = path.join(dir, "broken.json");
    writeFileSync(broken, "{ nope");
    const r = cli(["fastpath", "score", json, post, broken, yaml]);
    expect(r.stderr).toContain("broken.json");
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(Object.keys(l)).toEqual(KEYS);
    expect(lines[0]).toMatchObject({ file: json, test_name: "web_connectivity", measurement_uid: "", anomaly: true, blocking_type: "dns" });
    expect(lines[1]).toMatchObject({ file: post, measurement_uid: uid, failure: true, anomaly: false });
    expect(lines[2]).toMatchObject({ file: yaml, test_name: "http_invalid_request_line", anomaly: false });
    expect(lines[3]).toMatchObject({ file: yaml, test_name: "http_invalid_request_line", anomaly: true });
    expect(lines[2]!.measurement_uid).not.toBe(lines[3]!.measurement_uid);
  });

  it.skipIf(!corpusAvailable)("agrees with the corpus expectations (flags) with the corpus fingerprints", () => {
    const { cases } = JSON.parse(readFileSync(corpusPath("measurements", "expectations.json"), "utf8")) as {
      cases: { file: string; expected_flags: { anomaly: boolean; failure: boolean; confirmed: boolean } | null }[];
    };
    const withFlags = cases.filter((c) => c.expected_flags);
    const r = cli(["fastpath", "score", "--fingerprints", corpusPath("fingerprints"), ...withFlags.map((c) => corpusPath("measurements", c.file))]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { file: string; anomaly: boolean; failure: boolean; confirmed: boolean });
    expect(lines).toHaveLength(withFlags.length);
    lines.forEach((l, i) => {
      const { anomaly, failure, confirmed } = withFlags[i]!.expected_flags!;
      expect({ anomaly: l.anomaly, failure: l.failure, confirmed: l.confirmed }, l.file).toEqual({ anomaly, failure, confirmed });
    });
  });

  it("usage errors exit 2", () => {
    expect(cli(["fastpath", "score"]).code).toBe(2);
    expect(cli(["fastpath", "frobnicate"]).code).toBe(2);
    expect(cli(["fastpath", "reprocess", "--since", "yesterday"]).code).toBe(2);
  });
});

describe("fingerprints load", () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTempDb(tmp.dir);
  });
  afterAll(async () => {
    await db?.close();
  });

  const HEADER = "name,scope,other_names,location_found,pattern_type,pattern,confidence_no_fp,expected_countries,source,exp_url,notes\n";

  function csvDir(name: string, dns: string, http: string): string {
    const dir = path.join(tmp.dir, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "fingerprints_dns.csv"), HEADER + dns);
    writeFileSync(path.join(dir, "fingerprints_http.csv"), HEADER + http);
    return dir;
  }

  it("swaps both tables atomically; a bad CSV changes nothing; the running fastpath reloads", async () => {
    const spool = await Spool.open(path.join(tmp.dir, "spool"));
    const fastpath = startFastpath({ config: pipelineConfig(), db, spool, log: silent });
    const services = { db, config: { fastpath: pipelineConfig() }, fastpath } as unknown as Services;
    try {
      const good = csvDir(
        "good",
        "a.dns,nat,,dns,full,10.10.34.35,5,IR,ooni,,\nb.dns,isp,,dns,full,10.10.34.36,5,\"IR,TR\",ooni,,\n",
        'c.http,nat,,body,contains,"<title>Blocked</title>",5,,ooni,,"a ""quoted"" note"\n',
      );
      let io = capture();
      expect(await fingerprintsCommand.runWith(services, ["load", good], io, new AbortController().signal)).toBe(0);
      expect(io.out_).toContain("loaded 2 DNS and 1 HTTP");
      expect(io.out_).toContain("the running fastpath uses them now");
      const store = new FastpathStore(db);
      const sum = await store.fingerprintsChecksum();
      expect(fastpath.stats().fingerprints).toBe(sum);
      expect((await store.loadFingerprints("dns")).map((f) => [f.name, f.expected_countries])).toEqual([
        ["a.dns", ["IR"]],
        ["b.dns", ["IR", "TR"]],
      ]);
      expect((await store.loadFingerprints("http"))[0]).toMatchObject({ pattern: "<title>Blocked</title>", notes: 'a "quoted" note' });

      for (const [name, dns, http, message] of [
        ["bad-scope", "x,planet,,dns,full,1.1.1.1,5,,,,\n", "", /line 2: field "scope"/],
        ["bad-quote", "x,nat,,dns,full,\"1.1.1.1,5,,,,\n", "", /unterminated/],
        ["twice", "x,nat,,dns,full,1.1.1.1,5,,,,\nx,nat,,dns,full,1.1.1.2,5,,,,\n", "", /appears twice/],
        ["bad-http", "", "y,nat,,cookie,full,z,5,,,,\n", /location_found/],
      ] as const) {
        io = capture();
        expect(await fingerprintsCommand.runWith(services, ["load", csvDir(name, dns, http)], io, new AbortController().signal), name).toBe(1);
        expect(io.err_, name).toMatch(message);
        expect(io.err_).toContain("nothing was changed");
        expect(await store.fingerprintsChecksum(), name).toBe(sum);
      }
      io = capture();
      expect(await fingerprintsCommand.runWith(services, ["load", path.join(tmp.dir, "missing")], io, new AbortController().signal)).toBe(1);
      expect(await store.fingerprintsChecksum()).toBe(sum);

      io = capture();
      expect(await fingerprintsCommand.runWith(services, ["status"], io, new AbortController().signal)).toBe(0);
      expect(JSON.parse(io.out_)).toMatchObject({ dns: 2, http: 1, checksum: sum, fastpath_in_use: sum });

      // The live pipeline scores with the new set right away.
      const uid = await spoolMeasurement(spool, webConnectivity("confirmed", 1));
      const row = await eventually(async () => (await rowsFor(db, [uid])).get(uid), 20_000, "row");
      expect(row.confirmed).toBe("t");
    } finally {
      await fastpath.stop();
    }
  });

  it.skipIf(!corpusAvailable)("loads the published fingerprints as they are", async () => {
    const services = { db, config: { fastpath: pipelineConfig() }, fastpath: null } as unknown as Services;
    const io = capture();
    expect(await fingerprintsCommand.runWith(services, ["load", corpusPath("fingerprints")], io, new AbortController().signal), io.err_).toBe(0);
    const store = new FastpathStore(db);
    const csvNames = (f: string) =>
      readFileSync(corpusPath("fingerprints", f), "utf8").split("\n").slice(1).filter((l) => l.trim() !== "").length;
    expect((await store.loadFingerprints("dns")).length).toBe(csvNames("fingerprints_dns.csv"));
    expect((await store.loadFingerprints("http")).length).toBeGreaterThan(1000);
  });
});
