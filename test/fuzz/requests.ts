import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { compress as zstdCompress } from "@mongodb-js/zstd";
import { EDGE_SECRET, type Seeds } from "./app-under-test";
import { anyJson, deref, hostileString, mutatedObject, nearValid, serializeJson, valueFor, type Schema } from "./openapi-arbitraries";
import type { Operation } from "./operations";

// One fuzz case = one HTTP request against one operation: path parameters, query string, headers
// and body, each drawn valid, near-valid or hostile. Bodies are described first and materialised
// in the (async) property, because zstd compression is asynchronous.

export type BodySpec =
  | { kind: "none" }
  | { kind: "json"; value: unknown; contentType: string | null }
  | { kind: "raw"; bytes: Uint8Array; contentType: string | null; encoding: string | null }
  | { kind: "compressed"; value: unknown; encoding: "gzip" | "zstd"; corrupt: boolean };

export interface FuzzCase {
  method: string;
  url: string;
  headers: [string, string][];
  body: BodySpec;
}

const OTHER_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];

/** Values known to exist in the seeded data, by parameter name, so lookups can hit. */
function seededValues(seeds: Seeds, name: string): string[] {
  const uids = [...seeds.measurementUids, ...seeds.storedUids];
  const table: Record<string, string[]> = {
    measurement_uid: uids,
    report_id: [...seeds.reportIds, ...seeds.openReportIds],
    oonirun_link_id: [seeds.oonirunLinkId, "10001"],
    incident_id: [seeds.incidentId],
    revision_number: ["1", "latest", "2"],
    revision: ["1", "latest"],
    probe_cc: ["IT", "DE", "IR", "IT,DE", "ZZ"],
    country_code: ["IT", "DE", "ZZ"],
    cc: ["IT", "DE"],
    probe_asn: ["AS30722", "3269", "AS3320,3269"],
    asn: ["30722", "AS30722"],
    test_name: ["web_connectivity", "ndt", "telegram", "vanilla_tor", "whatsapp"],
    input: ["https://a.example/", "https://b.example/x"],
    domain: ["a.example", "b.example"],
    since: ["2020-01-01", "2024-01-01T00:00:00Z", new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 10)],
    until: ["2035-01-01", new Date().toISOString().slice(0, 10)],
    email_address: ["admin@example.org", "nobody@example.org"],
    provider: ["riseupvpn"],
    k: ["garbage"],
  };
  return table[name] ?? [];
}

function paramValue(doc: Record<string, any>, seeds: Seeds, name: string, schema: Schema | undefined, validOnly: boolean): fc.Arbitrary<string> {
  const s = deref(doc, schema);
  const valid = valueFor(doc, s);
  const seeded = seededValues(seeds, name);
  const validStrings = fc.oneof(...[valid.map(asParamString), ...(seeded.length ? [fc.constantFrom(...seeded)] : [])]);
  if (validOnly) return validStrings;
  return fc.oneof(
    { weight: 5, arbitrary: validStrings },
    { weight: 2, arbitrary: nearValid(validStrings).map(asParamString) },
    { weight: 3, arbitrary: hostileString },
  );
}

function asParamString(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** Mostly percent-encoded; sometimes raw so that bad escapes like %zz or a bare % reach the app. */
function encodePart(v: string, raw: boolean): string {
  if (raw) return v.replace(/[#?&=]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  // Byte-wise, so a lone surrogate is sent as the replacement character instead of throwing.
  let out = "";
  for (const b of new TextEncoder().encode(v)) {
    const ch = String.fromCharCode(b);
    out += /[A-Za-z0-9\-_.~]/.test(ch) ? ch : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function pathArb(doc: Record<string, any>, seeds: Seeds, op: Operation, validOnly: boolean): fc.Arbitrary<string> {
  const names = [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  if (!names.length) return fc.constant(op.path);
  const schemaOf = (n: string) => op.parameters.find((p) => p.in === "path" && p.name === n)?.schema;
  return fc.tuple(...names.map((n) => fc.tuple(paramValue(doc, seeds, n, schemaOf(n), validOnly), fc.boolean(), fc.nat(validOnly ? 0 : 9)))).map((vals) => {
    let p = op.path;
    names.forEach((n, i) => {
      const [v, , r] = vals[i]!;
      p = p.replace(`{${n}}`, encodePart(v, !validOnly && r === 0));
    });
    return p;
  });
}

function queryArb(doc: Record<string, any>, seeds: Seeds, op: Operation, validOnly: boolean): fc.Arbitrary<string> {
  const declared = op.parameters.filter((p) => p.in === "query");
  const pairs = declared.map((p) => {
    const present = fc
      .array(paramValue(doc, seeds, p.name, p.schema, validOnly), { minLength: 1, maxLength: validOnly ? 1 : 3 })
      .map((vs) => vs.map((v) => [p.name, v] as [string, string]));
    // Valid mode: a required parameter always, an optional one in about a third of the cases.
    const absentWeight = validOnly ? (p.required ? 0 : 3) : p.required ? 1 : 2;
    return fc.oneof({ weight: validOnly ? 1 : 2, arbitrary: present }, { weight: absentWeight, arbitrary: fc.constant(undefined) });
  });
  const unknown = fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "toString", "", "a[b]", "limit[]")), hostileString), {
    maxLength: validOnly ? 0 : 2,
  });
  return fc
    .tuple(fc.tuple(...pairs), unknown, fc.nat(validOnly ? 1 : 9), fc.boolean())
    .map(([declaredPairs, extra, raw, shuffle]) => {
      const all = [...declaredPairs.flatMap((x) => x ?? []), ...extra];
      if (shuffle) all.reverse();
      // Repeated keys come from multi-value arrays; raw mode leaves escapes as they are.
      return all.map(([k, v]) => `${encodePart(k, raw === 0)}=${encodePart(v, raw === 0)}`).join("&");
    });
}

function headerSafe(s: string): string {
  return Array.from(s)
    .filter((ch) => {
      const c = ch.codePointAt(0)!;
      return c >= 0x20 && c <= 0xff && c !== 0x7f;
    })
    .join("")
    .trim();
}

function headersArb(seeds: Seeds, op: Operation, validOnly: boolean): fc.Arbitrary<[string, string][]> {
  const probeSecured = op.path.startsWith("/api/v1/test-list/");
  // The right kind of token for the operation (a session for accounts, the login token for probes).
  const goodBearer = probeSecured
    ? fc.constant(seeds.probeToken)
    : op.secured
      ? fc.constantFrom(seeds.adminBearer, seeds.adminBearer, seeds.userBearer)
      : fc.constantFrom(seeds.adminBearer, seeds.userBearer, seeds.probeToken);
  const authorization = fc.oneof(
    { weight: validOnly ? 1 : 3, arbitrary: fc.constant(null) },
    { weight: op.secured ? 8 : 2, arbitrary: goodBearer.map((t) => `Bearer ${t}`) },
    {
      weight: validOnly ? 0 : 2,
      arbitrary: fc.oneof(
        hostileString.map((s) => `Bearer ${headerSafe(s)}`),
        fc.constantFrom("Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "bearer a.b.c", "Bearer eyJhbGciOiJub25lIn0.eyJyb2xlIjoiYWRtaW4ifQ.", "Token x"),
        fc.base64String({ maxLength: 200 }).map((s) => `Bearer ${s}.${s}.${s}`),
      ),
    },
  );
  const accept = fc.option(fc.constantFrom("*/*", "application/json", "text/html", "text/csv", "application/xml", ";;;q=x", "application/json;q=0", ""), { freq: 3 });
  const forwarded = fc.option(
    fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6(), hostileString.map(headerSafe)), fc.constantFrom(EDGE_SECRET, EDGE_SECRET, "wrong-secret")),
    { freq: 3 },
  );
  const misc = validOnly ? fc.constant([]) : fc.array(
    fc.tuple(
      fc.constantFrom("if-none-match", "x-request-id", "origin", "cookie", "user-agent", "range", "accept-encoding", "x-ooni-bridge-host", "accept-language"),
      hostileString.map(headerSafe),
    ),
    { maxLength: 3 },
  );
  return fc.tuple(authorization, accept, forwarded, misc).map(([auth, acc, fwd, extra]) => {
    const h: [string, string][] = [];
    if (auth !== null) h.push(["authorization", auth]);
    if (acc !== null) h.push(["accept", acc]);
    if (fwd !== null) h.push(["x-forwarded-for", fwd[0]], ["x-ooni-edge-auth", fwd[1]]);
    return [...h, ...extra];
  });
}

const CONTENT_TYPES = ["application/json", "application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/octet-stream", "application/json; charset=latin1", null];

/** A measurement that passes the intake's metadata rules, so fuzzed submissions reach the spool. */
const measurement: fc.Arbitrary<Record<string, unknown>> = fc.record({
  probe_asn: fc.constantFrom("AS30722", "AS0", "AS3269", "AS4294967295"),
  probe_cc: fc.constantFrom("IT", "IT", "IT", "DE", "ZZ", "IR"),
  test_name: fc.constantFrom("web_connectivity", "web_connectivity", "telegram", "ndt", "dnscheck", "x.y+z-1"),
  software_name: fc.constantFrom("ooniprobe-cli", "ooniprobe-android"),
  software_version: fc.constantFrom("3.22.0", "4.0.0-beta"),
  data_format_version: fc.constant("0.2.0"),
  test_start_time: fc.constantFrom("2024-01-01 00:00:00", "2030-12-31 23:59:59", "garbage"),
  measurement_start_time: fc.constantFrom("2024-01-01 00:00:01", "not a time", ""),
  input: fc.oneof(fc.constant(null), fc.webUrl(), hostileString),
  test_keys: anyJson,
  annotations: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 2 }),
});

/** A report template as probes send to open a report. */
const reportTemplate = measurement.map((m) => ({
  data_format_version: "0.2.0",
  format: "json",
  probe_asn: m.probe_asn,
  probe_cc: m.probe_cc,
  software_name: m.software_name,
  software_version: m.software_version,
  test_name: m.test_name,
  test_start_time: m.test_start_time,
  test_version: "0.4.3",
}));

/**
 * Valid bodies the schema alone cannot produce (free-form strings with rules only the handler
 * knows), so these operations are reached beyond their validators too.
 */
const oonirunDescriptor = fc.record({
  name: fc.constantFrom("fuzz link", "ünïcödé 🙂"),
  description: fc.constantFrom("a description", "x".repeat(500)),
  nettests: fc.array(
    fc.record({
      test_name: fc.constantFrom("web_connectivity", "dnscheck"),
      inputs: fc.constant(["https://a.example/"]),
      inputs_extra: fc.constant([{ k: "v" }]),
      options: fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.boolean(), fc.integer(), fc.string({ maxLength: 8 })), { maxKeys: 3 }),
    }),
    { minLength: 1, maxLength: 2 },
  ),
});

function knownBody(op: Operation): fc.Arbitrary<unknown> | null {
  if (op.method !== "POST" && op.method !== "PUT") return null;
  switch (op.path) {
    case "/report/{report_id}":
      return measurement.map((content) => ({ format: "json", content }));
    case "/api/v1/submit_measurement":
      return measurement.map((m) => ({ format: "json", content: JSON.stringify(m) }));
    case "/report":
      return reportTemplate;
    case "/api/v1/user_register":
      return fc.record({ email_address: fc.emailAddress(), redirect_to: fc.constantFrom("https://explorer.ooni.org/", "https://run.ooni.org/x", "https://evil.example/") });
    case "/api/v2/oonirun/links":
    case "/api/v2/oonirun/links/{oonirun_link_id}":
      return oonirunDescriptor;
    case "/api/v1/set_session_expunge":
      return fc.record({ email_address: fc.emailAddress() });
    default:
      return null;
  }
}

function bodyArb(doc: Record<string, any>, op: Operation, validOnly: boolean): fc.Arbitrary<BodySpec> {
  const junkBytes = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.constantFrom(
      new Uint8Array([0xff, 0xfe, 0x7b, 0x22]), // invalid UTF-8 then "{"
      new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xc3]), // {"a": then a truncated UTF-8 sequence
      new Uint8Array([0x1f, 0x8b, 0x08, 0x00]), // a gzip header and nothing else
      new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00]), // a zstd magic and nothing else
      new Uint8Array(),
    ),
  );
  const ct = fc.constantFrom(...CONTENT_TYPES);
  if (!op.body) {
    // No body declared: a few cases send one anyway (GET and HEAD cannot carry one).
    if (op.method === "GET" || op.method === "HEAD") return fc.constant({ kind: "none" });
    return fc.oneof(
      { weight: 6, arbitrary: fc.constant<BodySpec>({ kind: "none" }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("json" as const), value: anyJson, contentType: ct }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("raw" as const), bytes: junkBytes, contentType: ct, encoding: fc.constant(null) }) },
    );
  }
  const valid = fc.oneof(valueFor(doc, op.body), ...(knownBody(op) ? [knownBody(op)!, knownBody(op)!] : []));
  const truncated = valid.chain((v) => {
    const s = JSON.stringify(v) ?? "";
    return fc.nat(Math.max(0, s.length - 1)).map((n) => new TextEncoder().encode(s.slice(0, n)));
  });
  const json = (value: fc.Arbitrary<unknown>) =>
    fc.record({ kind: fc.constant("json" as const), value, contentType: fc.oneof({ weight: 8, arbitrary: fc.constant("application/json") }, { weight: 1, arbitrary: ct }) });
  if (validOnly) {
    return fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant("json" as const), value: valid, contentType: fc.constant("application/json") }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("compressed" as const), value: valid, encoding: fc.constantFrom("gzip" as const, "zstd" as const), corrupt: fc.constant(false) }) },
    );
  }
  return fc.oneof(
    { weight: 6, arbitrary: json(valid) },
    { weight: 4, arbitrary: json(mutatedObject(doc, op.body, valid)) },
    { weight: 1, arbitrary: json(anyJson) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("raw" as const), bytes: truncated, contentType: ct, encoding: fc.constant(null) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("raw" as const),
        bytes: junkBytes,
        contentType: ct,
        encoding: fc.option(fc.constantFrom("gzip", "zstd", "br", "deflate", "x-gzip", "gzip, zstd", "identity", "ZSTD", "garbage"), { freq: 2 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant("compressed" as const), value: valid, encoding: fc.constantFrom("gzip" as const, "zstd" as const), corrupt: fc.boolean() }),
    },
  );
}

/**
 * Two thirds of the cases are hostile anywhere; one third is valid-shaped throughout (declared
 * values, seeded ids, good tokens), so that handlers and ClickHouse queries run with fuzzed but
 * acceptable parameters instead of every case stopping at the first validator.
 */
export function caseArb(doc: Record<string, any>, seeds: Seeds, op: Operation): fc.Arbitrary<FuzzCase> {
  return fc.oneof({ weight: 2, arbitrary: caseArbMode(doc, seeds, op, false) }, { weight: 1, arbitrary: caseArbMode(doc, seeds, op, true) });
}

function caseArbMode(doc: Record<string, any>, seeds: Seeds, op: Operation, validOnly: boolean): fc.Arbitrary<FuzzCase> {
  const method = validOnly ? fc.constant(op.method) : fc.oneof({ weight: 30, arbitrary: fc.constant(op.method) }, { weight: 1, arbitrary: fc.constantFrom(...OTHER_METHODS) });
  return fc
    .tuple(method, pathArb(doc, seeds, op, validOnly), queryArb(doc, seeds, op, validOnly), headersArb(seeds, op, validOnly), bodyArb(doc, op, validOnly))
    .map(([m, p, q, headers, body]) => ({
      method: m,
      url: `http://origin.test${p}${q ? `?${q}` : ""}`,
      headers,
      body: m === "GET" || m === "HEAD" ? { kind: "none" as const } : body,
    }));
}

/** The Request for a case, or null when no client could send it (an unparseable URL or header). */
export async function materialize(c: FuzzCase): Promise<Request | null> {
  const headers = new Headers();
  let body: Uint8Array | undefined;
  try {
    for (const [k, v] of c.headers) headers.append(k, v);
    const b = c.body;
    if (b.kind === "json") {
      body = new TextEncoder().encode(serializeJson(b.value));
      if (b.contentType) headers.set("content-type", b.contentType);
    } else if (b.kind === "raw") {
      body = b.bytes;
      if (b.contentType) headers.set("content-type", b.contentType);
      if (b.encoding) headers.set("content-encoding", b.encoding);
    } else if (b.kind === "compressed") {
      const plain = Buffer.from(serializeJson(b.value));
      let packed = b.encoding === "gzip" ? gzipSync(plain) : await zstdCompress(plain, 3);
      if (b.corrupt) packed = packed.subarray(0, Math.max(1, packed.length - 5));
      body = new Uint8Array(packed);
      headers.set("content-type", "application/json");
      headers.set("content-encoding", b.encoding);
    }
    return new Request(c.url, { method: c.method, headers, body });
  } catch {
    return null;
  }
}

export interface Outcome {
  status: number;
  contentType: string;
  text: string;
}

/** Allowed 5xx answers, each with the reason it is deliberate (none so far). */
export const ALLOWED_5XX: { status: number; error: RegExp; reason: string }[] = [];

/** The fuzz property for one answer; returns a description of what is wrong, or null. */
export function violation(method: string, o: Outcome): string | null {
  if (o.status >= 500) {
    let error = "";
    try {
      error = String(JSON.parse(o.text).error);
    } catch {
      /* not JSON */
    }
    if (!ALLOWED_5XX.some((a) => a.status === o.status && a.error.test(error))) return `status ${o.status}: ${o.text.slice(0, 300)}`;
  }
  if (method === "HEAD") return null; // no body to judge
  const json = o.contentType.toLowerCase().includes("json");
  if (o.status >= 400) {
    if (!o.contentType.toLowerCase().startsWith("application/json")) return `status ${o.status} with content-type "${o.contentType}": ${o.text.slice(0, 200)}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(o.text);
    } catch {
      return `status ${o.status}: body is not JSON: ${o.text.slice(0, 200)}`;
    }
    if (typeof parsed !== "object" || parsed === null || typeof (parsed as { error?: unknown }).error !== "string") {
      return `status ${o.status}: JSON without a string "error": ${o.text.slice(0, 200)}`;
    }
    return null;
  }
  if (o.status >= 200 && o.status < 300 && o.status !== 204 && o.text.length > 0) {
    if (!o.contentType) return `status ${o.status}: a body without a content-type`;
    if (json) {
      try {
        JSON.parse(o.text);
      } catch {
        return `status ${o.status}: content-type says JSON, body is not: ${o.text.slice(0, 200)}`;
      }
    }
  }
  return null;
}
