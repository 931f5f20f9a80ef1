import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { report } from "../support/reliability";
import { UID_RE } from "../../origin/src/intake/measurement-uid";
import { EDGE_SECRET, JWT_SECRET, startSecurityOrigin, type SecurityOrigin } from "./support/origin";
import { enumerateRoutes, key, type Operation } from "./support/routes";

// Path traversal in every path parameter of the route table (and in the query parameters that
// name a stored measurement), against the in-process origin whose data directory has a canary
// planted next to it and above it. Parameters that map to files — a measurement uid to the spool
// and the archive, Swagger UI's asset names to node_modules, a provider to the probe config — are
// the ones that matter, but every parameter gets every payload. No answer may carry a canary, a
// system file, a package file or a secret; a payload that stays inside its parameter gets 4xx JSON.

let o: SecurityOrigin;
const CANARY = `canary-${randomBytes(12).toString("hex")}`;
const planted: string[] = [];

beforeAll(async () => {
  o = await startSecurityOrigin();
  // Next to and above the data directory, and inside it where a crafted path would land.
  const spoolParent = path.dirname(o.services.config.spoolDir);
  for (const dir of [path.dirname(o.dataDir), o.dataDir, spoolParent, path.join(o.services.config.spoolDir, "..", "..")]) {
    for (const name of ["canary.txt", "canary.post", "canary.json"]) {
      const f = path.join(dir, name);
      writeFileSync(f, JSON.stringify({ format: "json", content: { canary: CANARY } }));
      planted.push(f);
    }
  }
});

afterAll(async () => {
  for (const f of planted) rmSync(f, { force: true });
  await o?.close();
});

function payloads(): string[] {
  const canaryAbs = planted[0]!;
  const deep = "../".repeat(12);
  return [
    "../canary.txt",
    "../../canary.post",
    `${deep}etc/passwd`,
    `${deep}${canaryAbs.slice(1)}`,
    canaryAbs,
    "/etc/passwd",
    "..\\..\\..\\etc\\passwd",
    "....//....//etc/passwd",
    "..%2f..%2fetc%2fpasswd", // double-encoded once sent
    "%2e%2e/%2e%2e/etc/passwd",
    "\u002e\u002e\u2215etc\u2215passwd", // division slash
    "..\u0000/canary.txt",
    "canary.txt\u0000.css",
    "swagger-ui.css/../../package.json",
    "../../swagger-ui-dist/package.json",
    "20210208220710.181572_MA_ndt_7888edc7748936bf/../../../canary",
    "20210208220710.181572_MA_.._7888edc7748936bf",
    "x".repeat(8192),
    "~/.ssh/id_rsa",
    "file:///etc/passwd",
    "\\\\127.0.0.1\\share",
  ];
}

// Routes that read nothing from their parameter: the legacy collector's close is a no-op answering {}.
const NO_OP = new Set(["POST /report/{report_id}/close"]);

/** What must never be served. */
function forbidden(text: string): string | null {
  if (text.includes(CANARY)) return "canary";
  if (/root:.*:0:0:/.test(text)) return "/etc/passwd";
  if (text.includes('"name": "swagger-ui-dist"') || text.includes('"name":"swagger-ui-dist"')) return "a package.json";
  if (text.includes(JWT_SECRET) || text.includes(EDGE_SECRET)) return "a secret";
  if (/BEGIN (RSA|OPENSSH) PRIVATE KEY/.test(text)) return "a private key";
  return null;
}

/** The route template as a regular expression (a payload that stays inside its parameter still matches). */
function templateRe(op: Operation): RegExp {
  return new RegExp(`^${op.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{\w+\\?\}|\{\w+\}/g, "[^/]+")}$`);
}

describe("path traversal", () => {
  it("every path parameter, encoded and raw: no file outside its directory is ever served; in-parameter payloads are 4xx JSON", async () => {
    const ops = enumerateRoutes(o.app).filter((op) => op.params.some((p) => p.in === "path"));
    expect(ops.length).toBeGreaterThanOrEqual(10);
    const failures: string[] = [];
    let cases = 0;
    let inParam = 0;
    for (const op of ops) {
      for (const param of op.params.filter((p) => p.in === "path")) {
        for (const payload of payloads()) {
          // Encoded: the payload is the parameter's value. Raw: slashes and dots as a client might send them.
          for (const encoded of [true, false]) {
            cases++;
            const value = encoded ? encodeURIComponent(payload) : payload;
            const p = op.path.replace(/\{(\w+)\}/g, (_, name: string) => (name === param.name ? value : name === "revision_number" ? "latest" : name === "measurement_uid" ? "20240101000000.000000_IT_webconnectivity_0123456789abcdef" : name === "oonirun_link_id" ? "100000000000001" : "x"));
            let r;
            try {
              r = await o.req(op.method, p, { bearer: o.who.admin, body: op.hasBody ? {} : undefined });
            } catch (err) {
              // The Request constructor itself refused the URL (e.g. a NUL in it): nothing reached the app.
              if (!encoded) continue;
              throw err;
            }
            const where = `${key(op)} ${param.name}=${JSON.stringify(payload.slice(0, 60))}${encoded ? " (encoded)" : ""}`;
            const bad = forbidden(r.text);
            if (bad) failures.push(`${where}: served ${bad}`);
            if (r.status >= 500) failures.push(`${where}: ${r.status} ${r.text.slice(0, 120)}`);
            const landed = new URL(p, "http://x").pathname;
            // A well-formed uid whose test name is ".." names one file in one hour directory: no traversal.
            const legit = param.name === "measurement_uid" && UID_RE.test(payload);
            if (templateRe(op).test(landed) && !NO_OP.has(key(op)) && !legit) {
              inParam++;
              if (!(r.status >= 400 && r.status < 500 && typeof r.json?.error === "string")) failures.push(`${where}: ${r.status} ${r.text.slice(0, 120)}`);
            }
          }
        }
      }
    }
    report("security", "path traversal (path parameters)", { operations: ops.length, payloads: payloads().length, cases, in_parameter: inParam, passed: cases - failures.length });
    expect(failures).toEqual([]);
  });

  it("query parameters naming a stored measurement (spool, archive) refuse traversal payloads", async () => {
    let cases = 0;
    for (const route of ["/api/v1/raw_measurement", "/api/v1/measurement_meta"]) {
      for (const payload of payloads()) {
        for (const q of <Record<string, string>[]>[{ measurement_uid: payload }, { report_id: payload, input: "x" }, { report_id: "20240101T000000Z_webconnectivity_IT_30722_n1_abcdefghijklmnop", input: payload }]) {
          cases++;
          const r = await o.req("GET", `${route}?${new URLSearchParams(q)}`);
          expect(forbidden(r.text), `${route} ${JSON.stringify(q).slice(0, 100)}`).toBeNull();
          expect(r.status, `${route} ${JSON.stringify(q).slice(0, 100)}: ${r.text.slice(0, 100)}`).toBeLessThan(500);
          // measurement_meta answers {} for an unknown measurement (the probe engine expects that shape).
          if (r.status === 200) expect(r.json, `${route} ${JSON.stringify(q).slice(0, 100)}`).toEqual({});
        }
      }
    }
    report("security", "path traversal (measurement lookups)", { cases, passed: cases });
  });

  it("the file-backed routes do read files (control), and archive keys cannot leave the blob store", async () => {
    // Control: a real submission is served back by uid from the spool, so the routes above were live.
    const open = await o.req("POST", "/report", { body: { data_format_version: "0.2.0", format: "json", probe_asn: "AS30722", probe_cc: "IT", software_name: "t", software_version: "1", test_name: "web_connectivity", test_start_time: "2024-01-01 00:00:00", test_version: "0.4.3" } });
    expect(open.status, open.text).toBe(200);
    const sub = await o.req("POST", `/report/${open.json.report_id}`, { body: { format: "json", content: { marker: "spool-control", test_name: "web_connectivity", probe_cc: "IT", probe_asn: "AS30722", software_name: "t", software_version: "1", report_id: open.json.report_id, input: null } } });
    expect(sub.status, sub.text).toBe(200);
    const back = await o.req("GET", `/api/v1/measurement/${sub.json.measurement_uid}`);
    expect(back.status).toBe(200);
    expect(back.text).toContain("spool-control");
    // The download's file name comes from the uid: only ever the validated uid's characters.
    const dl = await o.req("GET", `/api/v1/measurement/${sub.json.measurement_uid}?download=true`);
    expect(dl.headers.get("content-disposition")).toMatch(/^attachment; filename=ooni_measurement-[\w.+-]+\.json$/);
    for (const bad of ['x"; filename="evil.html', "a\r\nSet-Cookie: x=1", "../../evil.json"]) {
      const r = await o.req("GET", `/api/v1/measurement/${encodeURIComponent(bad)}?download=true`);
      expect(r.status).toBe(400);
      expect(r.headers.get("content-disposition")).toBeNull();
    }

    // A hostile (or corrupted) archive index row pointing outside the store: the blob store refuses the key.
    const uid = "20240103000000.000000_IT_webconnectivity_00000000000000ff";
    const keys = ["../canary.txt", "../../canary.post", `${"../".repeat(12)}etc/passwd`, planted[0]!, "raw/../../canary.json", "raw\\..\\..\\canary.txt"];
    let cases = 1;
    for (const [i, s3path] of keys.entries()) {
      cases++;
      await o.services.db.client.insert({ table: "jsonl", values: [{ report_id: "r", input: "", s3path, linenum: 0, measurement_uid: uid, date: "2024-01-03", source: "test", byte_offset: 0, byte_length: i % 2 === 0 ? 0 : 16 }], format: "JSONEachRow" });
      const r = await o.req("GET", `/api/v1/measurement/${uid}`);
      expect(forbidden(r.text), s3path).toBeNull();
      // A bad index row is the server's own data fault: 404/503, or a 500 that names nothing.
      expect([404, 500, 503], `${s3path}: ${r.status} ${r.text.slice(0, 100)}`).toContain(r.status);
      expect(r.text).not.toContain("canary");
      expect(typeof r.json?.error).toBe("string");
      for (const call of [() => o.services.blobs.get(s3path), () => o.services.blobs.head(s3path)]) {
        const got = await call().then((v) => v, (e: Error) => e);
        if (!(got instanceof Error) && got !== null) {
          expect(forbidden(Buffer.from(got as Uint8Array).toString()), s3path).toBeNull();
        }
      }
    }
    // Control: a key inside the store whose name merely starts with dots is read (the refusals are not blanket).
    await o.services.blobs.put("..inside", new TextEncoder().encode("inside-the-store"));
    expect(Buffer.from((await o.services.blobs.get("..inside"))!).toString()).toBe("inside-the-store");
    report("security", "path traversal (archive keys)", { cases, passed: cases });
  });
});
