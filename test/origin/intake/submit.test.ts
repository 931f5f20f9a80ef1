import { readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { compress } from "@mongodb-js/zstd";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePostFile } from "../../../origin/src/intake/post-file";
import { corpusAvailable, corpusPath } from "../../support/corpus";
import { startOriginProcess, type OriginProcess } from "../../support/origin-process";
import { listFiles, measurement, openReport, UA } from "./helpers";

let origin: OriginProcess;
beforeAll(async () => {
  origin = await startOriginProcess();
});
afterAll(async () => {
  await origin?.stop();
  origin?.cleanup();
});

function spoolPath(uid: string) {
  const hourDir = `${uid.slice(0, 10)}_${uid.split("_")[1]}_${uid.split("_")[2]}`;
  return path.join(origin.dataDir, "spool", "incoming", hourDir, `${uid}.post`);
}

async function submit(pathname: string, body: Buffer, encoding?: "gzip" | "zstd") {
  const sent = encoding === "gzip" ? gzipSync(body) : encoding === "zstd" ? await compress(body) : body;
  const res = await fetch(`${origin.url}${pathname}`, {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": UA, ...(encoding ? { "content-encoding": encoding } : {}) },
    body: sent,
  });
  return { status: res.status, cacheControl: res.headers.get("cache-control"), json: (await res.json()) as any };
}

describe("measurement submission through the real origin", () => {
  it("open report → three measurements (plain, gzip, zstd) → close: each one on disk, byte-identical", async () => {
    const rid = await openReport(origin.url);
    expect(rid).toMatch(/^\d{8}T\d{6}Z_webconnectivity_IT_30722_n1_[A-Za-z0-9]{16}$/);
    const uids: string[] = [];
    for (const encoding of [undefined, "gzip", "zstd"] as const) {
      const body = Buffer.from(JSON.stringify({ format: "json", content: measurement(rid, { input: `https://e.org/${encoding}` }) }));
      const r = await submit(`/report/${rid}`, body, encoding);
      expect(r.status).toBe(200);
      expect(r.cacheControl).toBe("no-store");
      expect(Object.keys(r.json)).toEqual(["measurement_uid"]);
      expect(r.json.measurement_uid).toMatch(/^\d{14}\.\d{6}_IT_webconnectivity_[0-9a-f]{16}$/);
      expect(readFileSync(spoolPath(r.json.measurement_uid))).toEqual(body);
      uids.push(r.json.measurement_uid);
    }
    expect([...uids].sort()).toEqual(uids); // reception order
    const close = await fetch(`${origin.url}/report/${rid}/close`, { method: "POST", headers: { "user-agent": UA } });
    expect(close.status).toBe(200);
    expect(await close.json()).toEqual({});
  });

  it("the same /report/{id} body twice (a retry after a lost 200): the same measurement_uid, one file", async () => {
    const rid = await openReport(origin.url);
    const body = Buffer.from(JSON.stringify({ format: "json", content: measurement(rid, { input: "https://e.org/retried" }) }));
    const first = await submit(`/report/${rid}`, body);
    const retry = await submit(`/report/${rid}`, body, "gzip");
    expect(first.status).toBe(200);
    expect(retry).toMatchObject({ status: 200, cacheControl: "no-store", json: { measurement_uid: first.json.measurement_uid } });
    expect(Object.keys(retry.json)).toEqual(["measurement_uid"]);
    const dir = path.dirname(spoolPath(first.json.measurement_uid));
    expect(listFiles(dir).filter((f) => f.endsWith(`${first.json.measurement_uid.slice(-16)}.post`))).toEqual([`${first.json.measurement_uid}.post`]);
  });

  it("submit_measurement: the measurement string is stored verbatim with a generated report_id", async () => {
    const text = JSON.stringify(measurement(undefined, { test_name: "ndt", input: null, test_keys: { failure: null } }));
    const body = Buffer.from(JSON.stringify({ format: "json", content: text, nym: null, zkp_request: null, manifest_version: null, protocol_version: null }));
    const r = await submit("/api/v1/submit_measurement", body, "gzip");
    expect(r.status).toBe(200);
    expect(r.json.measurement_uid).toMatch(/_IT_ndt_[0-9a-f]{16}$/);
    const stored = readFileSync(spoolPath(r.json.measurement_uid));
    const { reportId, measurement: m } = parsePostFile(stored);
    expect(reportId).toMatch(/^\d{8}T\d{6}Z_ndt_IT_30722_n1_[A-Za-z0-9]{16}$/);
    expect(stored.toString()).toBe(`{"format":"json","report_id":"${reportId}","content":${text}}`);
    expect(m).toEqual(JSON.parse(text));
  });

  it("refuses AS0 and ZZ with the newer service's codes instead of dropping them with a 200", async () => {
    const before = listFiles(origin.dataDir);
    const open = await fetch(`${origin.url}/report`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data_format_version: "0.2.0", format: "json", probe_asn: "AS0", probe_cc: "IT", software_name: "x", software_version: "1", test_name: "ndt", test_start_time: "2024-01-01 00:00:00", test_version: "1" }),
    });
    expect(open.status).toBe(400);
    expect(((await open.json()) as { error: string }).error).toBe("asn_0");
    const zzRid = "20240214T090617Z_webconnectivity_ZZ_30722_n1_abcdefabcdefabcd";
    const zz = await submit(`/report/${zzRid}`, Buffer.from(JSON.stringify({ format: "json", content: measurement(zzRid, { probe_cc: "ZZ" }) })));
    expect(zz).toMatchObject({ status: 400, json: { error: "cc_zz" } });
    const as0Rid = "20240214T090617Z_webconnectivity_IT_0_n1_abcdefabcdefabcd";
    const as0 = await submit(`/report/${as0Rid}`, Buffer.from(JSON.stringify({ format: "json", content: measurement(as0Rid, { probe_asn: "AS0" }) })));
    expect(as0).toMatchObject({ status: 400, json: { error: "asn_0" } });
    const sm = await submit("/api/v1/submit_measurement", Buffer.from(JSON.stringify({ format: "json", content: JSON.stringify(measurement(undefined, { probe_asn: "AS0" })) })));
    expect(sm).toMatchObject({ status: 400, json: { error: "asn_0" } });
    expect(listFiles(origin.dataDir)).toEqual(before);
  });

  it.skipIf(!corpusAvailable)("accepts every real JSON measurement of the corpus, byte-identical on disk", async () => {
    const { readdirSync } = await import("node:fs");
    const files = readdirSync(corpusPath("measurements")).filter((f) => f.endsWith(".json") && f !== "expectations.json");
    let accepted = 0;
    for (const f of files) {
      // submit_measurement: the real measurement text, unchanged, as the current probe sends it.
      const text = readFileSync(corpusPath("measurements", f), "utf8");
      const r = await submit("/api/v1/submit_measurement", Buffer.from(JSON.stringify({ format: "json", content: text })), "zstd");
      expect(r.status, `${f}: ${JSON.stringify(r.json)}`).toBe(200);
      accepted++;
      const stored = readFileSync(spoolPath(r.json.measurement_uid)).toString();
      expect(stored.endsWith(`"content":${text}}`), f).toBe(true);
    }
    expect(accepted).toBe(files.length);
  });
});
