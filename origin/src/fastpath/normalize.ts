import { createHash } from "node:crypto";
import { parseDocument } from "yaml";
import type { ScalarTag, Tags } from "yaml";
import { formatDateTime, parsePyDateTime } from "./scoring/py-datetime";
import { get, has, isDict, own, pyEq, pyIter, truthy } from "./scoring/py";
import type { Dict } from "./scoring/py";

// Measurement text → measurement objects: JSON, the `{format, content}` submission envelope,
// and legacy YAML reports (data format 0.1: a YAML stream whose first document is a header
// and the following ones are entries). Legacy entries are normalised to the JSON shape the way
// the upstream fastpath's normalize.py did ("autoclaving").

// ---------------------------------------------------------------------------------------------
// YAML as PyYAML's safe_load reads it (YAML 1.1, but y/n are strings there)

const PY_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const PY_FALSE = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/;

function pyBoolTags(tags: Tags): Tags {
  return tags.map((tag) => {
    if (typeof tag === "string" || tag.tag !== "tag:yaml.org,2002:bool" || "collection" in tag) return tag;
    const scalar: ScalarTag = tag;
    return { ...scalar, test: scalar.test?.test("true") === true ? PY_TRUE : PY_FALSE };
  });
}

/** One YAML document → JS value (binary stays Uint8Array; sets, maps and dates converted). */
export function loadYaml(src: string): unknown {
  const doc = parseDocument(src, {
    version: "1.1",
    customTags: pyBoolTags,
    uniqueKeys: false,
    prettyErrors: false,
  });
  if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]!.message}`);
  return prepare(doc.toJS({ maxAliasCount: 100 }));
}

/** Sets → lists, maps → objects, timestamps → "YYYY-MM-DD hh:mm:ss", non-finite floats → null. */
function prepare(v: unknown): unknown {
  if (v instanceof Uint8Array) return v;
  if (v instanceof Date) return Number.isFinite(v.getTime()) ? formatDateTime(v.getTime()) : null;
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Set) return [...v].map(prepare);
  if (v instanceof Map) {
    const out: Dict = {};
    for (const [k, val] of v) out[String(k)] = prepare(val);
    return out;
  }
  if (Array.isArray(v)) return v.map(prepare);
  if (v !== null && typeof v === "object") {
    const out: Dict = {};
    for (const [k, val] of Object.entries(v)) out[k] = prepare(val);
    return out;
  }
  return v;
}

const utf8Fatal = new TextDecoder("utf-8", { fatal: true });

function validUtf8Length(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  let need: number;
  let min: number;
  if (c >= 0xc2 && c <= 0xdf) {
    need = 1;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    need = 2;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    need = 3;
    min = 0x10000;
  } else return 0;
  let cp = c & (0x3f >> need);
  for (let k = 1; k <= need; k++) {
    const d = b[i + k];
    if (d === undefined || (d & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (d & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return need + 1;
}

/** bytes.decode("utf-8", errors): "backslashreplace" writes \xNN, "ignore" drops the byte. */
export function decodeUtf8(bytes: Uint8Array, errors: "backslashreplace" | "ignore"): string {
  try {
    return utf8Fatal.decode(bytes);
  } catch {
    let out = "";
    let i = 0;
    while (i < bytes.length) {
      const len = validUtf8Length(bytes, i);
      if (len > 0) {
        out += Buffer.from(bytes.subarray(i, i + len)).toString("utf8");
        i += len;
      } else {
        if (errors === "backslashreplace") out += `\\x${bytes[i]!.toString(16).padStart(2, "0")}`;
        i++;
      }
    }
    return out;
  }
}

/** Remaining binary values become text (invalid UTF-8 dropped), so the result is plain JSON. */
function toJsonSafe(v: unknown): unknown {
  if (v instanceof Uint8Array) return decodeUtf8(v, "ignore");
  if (Array.isArray(v)) return v.map(toJsonSafe);
  if (isDict(v)) {
    const out: Dict = {};
    for (const k of Object.keys(v)) out[k] = toJsonSafe(v[k]);
    return out;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Envelope and entry point

/**
 * `{format: "json"|"yaml", content}` → the measurement inside (content may be an object or a
 * serialised string). Anything else is returned unchanged. Unreadable content gives null, or
 * throws when `strict`.
 */
export function unwrapEnvelope(v: unknown, strict = false): unknown {
  if (!isDict(v) || !has(v, "content") || !has(v, "format")) return v;
  const format = typeof v.format === "string" ? v.format.toLowerCase() : v.format;
  const content = v.content;
  try {
    if (format === "json") return typeof content === "string" ? JSON.parse(content) : content;
    if (format === "yaml") return typeof content === "string" ? toJsonSafe(loadYaml(content)) : content;
    throw new Error(`unsupported measurement format ${JSON.stringify(format)}`);
  } catch (err) {
    if (strict) throw err instanceof Error ? err : new Error(String(err));
    return null;
  }
}

function parseJsonLines(text: string): unknown[] | null {
  const out: unknown[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      return null;
    }
  }
  return out;
}

/**
 * Measurement text → measurements: a JSON object (possibly a `{format, content}` envelope), a
 * JSON array or JSON lines of them, a legacy YAML report (one measurement per entry), or a
 * single YAML document. Throws on text that is none of these.
 */
export function parseMeasurementText(text: string): unknown[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const head = body.trimStart();
  if (head === "") return [];
  if (head.startsWith("{") || head.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      const lines = parseJsonLines(body);
      if (!lines) throw new Error(`invalid JSON measurement: ${(err as Error).message}`);
      return lines.map((m) => unwrapEnvelope(m, true));
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    return list.map((m) => unwrapEnvelope(m, true));
  }
  if (isLegacyYamlReport(body)) return normalizeLegacyYamlReport(body);
  return [unwrapEnvelope(toJsonSafe(loadYaml(body)), true)];
}

// ---------------------------------------------------------------------------------------------
// Legacy YAML reports

/** Splits a report into its "---\n … \n...\n" documents as upstream's blob slicer does. */
export function splitYamlDocuments(data: Buffer): Buffer[] {
  const blobs: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    const prefix = data.subarray(start, start + 4).toString("latin1");
    if (prefix === "---\n") {
      const end = data.indexOf("\n...\n", start);
      if (end < 0) break; // truncated report: what came before is kept
      blobs.push(data.subarray(start, end + 5));
      start = end + 5;
    } else if (prefix === "...\n") {
      start += 4; // duplicate trailer
    } else if (prefix.startsWith("#")) {
      const end = data.indexOf("\n", start);
      if (end < 0) break;
      start = end + 1;
    } else {
      break; // broken frame
    }
  }
  return blobs;
}

/** A YAML stream with a header document and at least one entry. */
export function isLegacyYamlReport(text: string): boolean {
  return text.startsWith("---\n") && splitYamlDocuments(Buffer.from(text, "utf8")).length >= 2;
}

const TEST_NAME_MAPPINGS: Readonly<Record<string, string>> = {
  http_host: "http_host",
  "HTTP Host": "http_host",
  http_requests_test: "http_requests",
  http_requests: "http_requests",
  "HTTP Requests Test": "http_requests",
  bridge_reachability: "bridge_reachability",
  bridgereachability: "bridge_reachability",
  "TCP Connect": "tcp_connect",
  tcp_connect: "tcp_connect",
  "DNS tamper": "dns_consistency",
  dnstamper: "dns_consistency",
  dns_consistency: "dns_consistency",
  "HTTP Invalid Request Line": "http_invalid_request_line",
  http_invalid_request_line: "http_invalid_request_line",
  http_header_field_manipulation: "http_header_field_manipulation",
  "HTTP Header Field Manipulation": "http_header_field_manipulation",
  "Multi Protocol Traceroute Test": "multi_protocol_traceroute",
  multi_protocol_traceroute_test: "multi_protocol_traceroute",
  multi_protocol_traceroute: "multi_protocol_traceroute",
  traceroute: "multi_protocol_traceroute",
  parasitic_traceroute_test: "parasitic_traceroute",
  parasitic_tcp_traceroute_test: "parasitic_traceroute",
  "tls-handshake": "tls_handshake",
  tls_handshake: "tls_handshake",
  dns_injection: "dns_injection",
  captivep: "captive_portal",
  captiveportal: "captive_portal",
  HTTPFilteringBypass: "http_filtering_bypass",
  httpfilteringbypass: "http_filtering_bypass",
  HTTPTrix: "http_trix",
  httptrix: "http_trix",
  http_test: "http_test",
  http_url_list: "http_url_list",
  dns_spoof: "dns_spoof",
  netalyzrwrapper: "netalyzr_wrapper",
  meek_fronted_requests_test: "meek_fronted_requests_test",
  lantern_circumvention_tool_test: "lantern_circumvention_tool_test",
  psiphon_test: "psiphon_test",
  this_test_is_nameless: "this_test_is_nameless",
  test_get_random_capitalization: "http_header_field_manipulation",
  test_put_random_capitalization: "http_header_field_manipulation",
  test_post_random_capitalization: "http_header_field_manipulation",
  test_random_big_request_method: "http_invalid_request_line",
  test_random_invalid_field_count: "http_invalid_request_line",
  summary: "invalid",
  test_get: "invalid",
  test_post: "invalid",
  test_put: "invalid",
  test_send_host_header: "invalid",
};

// Top-level keys of a normalised measurement; any other key is a test key.
const SCHEMA = [
  "id",
  "input",
  "input_hashes",
  "report_id",
  "report_filename",
  "options",
  "probe_cc",
  "probe_asn",
  "probe_ip",
  "probe_city",
  "backend_version",
  "data_format_version",
  "test_name",
  "test_version",
  "test_start_time",
  "measurement_start_time",
  "test_runtime",
  "test_helpers",
  "software_name",
  "software_version",
  "bucket_date",
  "test_keys",
] as const;
const SCHEMA_SET: ReadonlySet<string> = new Set(SCHEMA);

const DNST = new Set(["dns_consistency", "dns_injection", "captive_portal"]);
const PROCESS = new Set(["lantern", "psiphon"]);
const HTTPT = new Set([
  "http_requests",
  "meek_fronted_requests",
  "domclass_collector",
  "http_keyword_filtering",
  "http_uk_mobile_networks",
  "http_header_field_manipulation",
  "http_url_list",
  "http_host",
  "squid",
  "captive_portal",
  "psiphon",
  "tor_http_requests_test",
]);
const SCAPYT = new Set([
  "chinatrigger",
  "keyword_filtering",
  "parasitic_traceroute",
  "multi_protocol_traceroute",
  "dns_spoof",
]);
const UNSUPPORTED = new Set(["captive_portal", "tls_handshake", "tcp_connect", "bridge_reachability"]);

/** An entry upstream would not normalise (it raised, and the entry was skipped). */
function fail(why: string): never {
  throw new Error(`legacy entry skipped: ${why}`);
}

function pop(d: Dict, key: string, dflt: unknown): unknown {
  if (!has(d, key)) return dflt;
  const v = d[key];
  delete d[key];
  return v;
}

/** Python `x[i]` on a list or string; throws where Python raises. */
function index(v: unknown, i: number): unknown {
  if (Array.isArray(v)) return i < v.length ? v[i] : fail("index out of range");
  if (typeof v === "string") {
    const chars = Array.from(v);
    return i < chars.length ? chars[i] : fail("index out of range");
  }
  return fail("not subscriptable");
}

function utcFromTimestamp(ts: unknown): string {
  if (typeof ts !== "number" || !Number.isFinite(ts)) fail("bad timestamp");
  const ms = Math.round(ts * 1e6) / 1e3;
  if (ms < -62135596800000 || ms > 253402300799999) fail("timestamp out of range");
  return formatDateTime(ms);
}

function strptime(v: unknown): string {
  const ms = parsePyDateTime(v);
  if (ms === null) fail("bad date");
  return formatDateTime(ms);
}

function nestTestKeys(entry: Dict): void {
  if (entry.test_keys === null) entry.test_keys = {};
  const tk = entry.test_keys;
  if (!isDict(tk)) fail("test_keys is not an object");
  for (const key of Object.keys(entry)) {
    if (!SCHEMA_SET.has(key)) {
      tk[key] = entry[key];
      delete entry[key];
    }
  }
}

function normalizeStr(v: unknown): unknown {
  if (v === null) return null;
  if (v instanceof Uint8Array) {
    if (v.length >= 10000) fail("header too long");
    return decodeUtf8(v, "backslashreplace");
  }
  if (typeof v !== "string") fail("header is not text");
  if (Array.from(v).length >= 10000) fail("header too long");
  return v.replaceAll("\0", "");
}

function normalizeBody(v: unknown): unknown {
  if (v === null) return null;
  if (v instanceof Uint8Array) return decodeUtf8(v, "backslashreplace");
  if (typeof v !== "string") fail("body is not text");
  return v.replaceAll("\0", "");
}

/** [[name, [value, …]], …] → {name: value} (first value only, as upstream did). */
function normalizeHeaders(headers: unknown): Dict {
  const out: Dict = {};
  const items = pyIter(headers) ?? fail("headers not iterable");
  for (const item of items) {
    const pair = pyIter(item) ?? fail("header is not a pair");
    if (pair.length !== 2) fail("header is not a pair");
    const [name, values] = pair;
    let value = index(values, 0);
    if (Array.isArray(value)) value = index(value, 0);
    if (typeof name !== "string" && typeof name !== "number" && typeof name !== "boolean" && name !== null) {
      fail("unhashable header name");
    }
    out[String(name)] = normalizeStr(value);
  }
  return out;
}

function normalizeHttpt(entry: Dict): void {
  const tk = entry.test_keys as Dict;
  let urlIndex: number | undefined;
  for (const option of ["--url", "-u"]) {
    // list.index (or str.index on a string, as Python would do); the last option found wins.
    const opts = entry.options;
    const i = Array.isArray(opts) || typeof opts === "string" ? opts.indexOf(option) : -1;
    if (i >= 0) urlIndex = i + 1;
  }
  if (urlIndex !== undefined && entry.input === null) entry.input = index(entry.options, urlIndex);

  // tor_http_requests carried a single request/response pair.
  if (truthy(get(tk, "request")) && truthy(get(tk, "response"))) {
    if (!has(tk, "requests")) tk.requests = [];
    if (!Array.isArray(tk.requests)) fail("requests is not a list");
    const response = pop(tk, "response", null);
    const request = pop(tk, "request", null);
    tk.requests.push({ response, request });
  }

  const experiment: Dict[] = [];
  const control: Dict[] = [];
  const sessions = has(tk, "requests") ? tk.requests : [];
  for (const session of pyIter(sessions) ?? fail("requests not iterable")) {
    if (!isDict(session)) fail("request is not an object");
    for (const side of ["response", "request"] as const) {
      const part = get(session, side);
      if (isDict(part)) {
        if (!has(part, "body") || !has(part, "headers")) fail(`${side} without body or headers`);
        part.body = normalizeBody(part.body);
        part.headers = normalizeHeaders(part.headers);
      } else {
        session[side] = { body: null, headers: {} };
      }
    }
    const request = session.request as Dict;
    if (!has(request, "url") || typeof request.url !== "string") fail("request without url");
    let isTor = false;
    let exitIp: unknown = null;
    let exitName: unknown = null;
    const tor = get(request, "tor");
    if (request.url.startsWith("shttp")) {
      request.url = request.url.replaceAll("shttp://", "http://");
      isTor = true;
    } else if (tor === true) {
      isTor = true;
    } else if (tor === null || pyEq(tor, false) || pyEq(tor, { is_tor: false })) {
      isTor = false;
    } else if (isDict(tor) && get(tor, "is_tor") === true) {
      isTor = true;
      exitIp = get(tor, "exit_ip");
      exitName = get(tor, "exit_name");
    } else if (!isDict(tor)) {
      fail("bad tor field");
    }
    request.tor = { is_tor: isTor, exit_ip: exitIp, exit_name: exitName };
    session.response_length = null;
    for (const [k, v] of Object.entries((session.response as Dict).headers as Dict)) {
      if (k.toLowerCase() === "content-length") session.response_length = v;
    }
    (isTor ? control : experiment).push(session);
  }
  const ordered: Dict[] = [];
  if (experiment.length > 0) ordered.push(experiment.shift()!);
  if (control.length > 0) ordered.push(control.shift()!);
  tk.requests = [...ordered, ...experiment, ...control];
  if (get(tk, "headers_diff") !== null) {
    tk.headers_diff = [...(pyIter(tk.headers_diff) ?? fail("headers_diff not iterable"))];
  }
}

const IPV4 = /address=(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})/;

function firstGroup(re: RegExp, source: unknown): string {
  if (typeof source !== "string") fail("not text");
  return re.exec(source)?.[1] ?? "";
}

function isAlnum(c: string | undefined): boolean {
  return c !== undefined && /^[a-zA-Z0-9]$/.test(c);
}

/**
 * `prefix` followed by a hostname, as upstream's hostname regexp finds it (first occurrence
 * followed by a letter or digit; longest run of labels ending in a letter or digit). Written
 * as a scan because that regexp backtracks exponentially on hostile input.
 */
function hostnameAfter(prefix: string, source: unknown): string {
  if (typeof source !== "string") fail("not text");
  let from = 0;
  for (;;) {
    const at = source.indexOf(prefix, from);
    if (at < 0) return "";
    const start = at + prefix.length;
    if (!isAlnum(source[start])) {
      from = at + 1;
      continue;
    }
    let lastAlnum = start;
    for (let i = start + 1; i < source.length; i++) {
      const c = source[i]!;
      if (isAlnum(c)) lastAlnum = i;
      else if (c === "-") continue;
      else if (c === "." && source[i - 1] !== "-" && source[i + 1] !== "-" && source[i + 1] !== ".") continue;
      else break;
    }
    return source.slice(start, lastAlnum + 1);
  }
}

function normalizeAnswer(ans: unknown): Dict {
  let ttl: string | null;
  try {
    ttl = firstGroup(/ttl=(\d+)/, index(ans, 0));
  } catch {
    ttl = null;
  }
  const first = index(ans, 0);
  const type = firstGroup(/type=([A-Z]+)/, first);
  const out: Dict = { ttl, answer_type: type };
  if (type === "A") {
    out.ipv4 = firstGroup(IPV4, index(ans, 1));
  } else if (type === "MX") {
    out.hostname = firstGroup(IPV4, index(ans, 1));
    out.preference = firstGroup(/preference=(\d+)/, index(ans, 1));
  } else if (type === "PTR" || type === "CNAME") {
    out.hostname = hostnameAfter("name=", index(ans, 1));
  } else if (type === "SOA") {
    const second = index(ans, 1);
    out.responsible_name = hostnameAfter("rname=", second);
    out.hostname = hostnameAfter("mname=", second);
    out.serial_number = firstGroup(/serial=(\d+)/, second);
    out.refresh_interval = firstGroup(/refresh=(\d+)/, second);
    out.retry_interval = firstGroup(/retry=(\d+)/, second);
    out.minimum_ttl = firstGroup(/minimum=(\d+)/, second);
    out.expiration_limit = firstGroup(/expire=(\d+)/, second);
  }
  return out;
}

function normalizeDnst(entry: Dict): void {
  const tk = entry.test_keys as Dict;
  pop(tk, "test_resolvers", null);
  const errors = pop(tk, "tampering", null);
  if (truthy(errors)) {
    tk.errors = errors;
    const items = pyIter(errors) ?? fail("tampering not iterable");
    const pairs = items.map((e) => [index(e, 0), index(e, 1)] as const);
    tk.successful = pairs.filter(([, ok]) => ok === false).map(([r]) => r);
    tk.failed = pairs.filter(([, ok]) => ok !== true).map(([r]) => r);
    tk.inconsistent = pairs.filter(([, ok]) => ok === true).map(([r]) => r);
  } else if (entry.test_name === "dns_consistency") {
    tk.errors = {};
    tk.successful = [];
    tk.failed = [];
    tk.inconsistent = [];
  }
  const queries: Dict[] = [];
  for (const query of pyIter(pop(tk, "queries", [])) ?? fail("queries not iterable")) {
    if (!isDict(query)) fail("query is not an object");
    const q = pop(query, "query", undefined);
    query.hostname = typeof q === "string" ? (/\[Query\('(.+)'/.exec(q)?.[1] ?? "") : null;
    const resolver = pop(query, "resolver", undefined);
    const pair = pyIter(resolver);
    [query.resolver_hostname, query.resolver_port] = pair && pair.length === 2 ? pair : [null, null];
    pop(query, "addrs", null);
    const answers = (pyIter(pop(query, "answers", [])) ?? fail("answers not iterable")).map(normalizeAnswer);
    query.answers = answers;
    let failure = get(query, "failure");
    if (!truthy(failure) && answers.length === 0) failure = "no_answer";
    query.failure = failure;
    queries.push(query);
  }
  tk.queries = queries;
}

function uuidFromBytes(b: Uint8Array): string {
  const hex = Buffer.from(b.subarray(0, 16)).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** One legacy entry (header already merged in) → the data format 0.2.0 shape ("autoclaving"). */
export function normalizeLegacyEntry(
  entry: Dict,
  opts: { bucketDate?: string | null; reportFilename?: string | null; entryHash: Uint8Array },
): Dict {
  if (isDict(entry.report)) {
    const report = pop(entry, "report", null) as Dict;
    Object.assign(entry, report);
  }
  const rawName = has(entry, "test_name") ? entry.test_name : "invalid";
  if (typeof rawName !== "string") fail("test_name is not text");
  const testName = TEST_NAME_MAPPINGS[rawName] ?? rawName.toLowerCase();
  entry.test_name = testName;
  entry.bucket_date = opts.bucketDate ?? null;
  if (!truthy(own(entry, "id"))) entry.id = uuidFromBytes(opts.entryHash);
  entry.report_filename = opts.reportFilename ?? null;
  for (const key of SCHEMA) if (!has(entry, key)) entry[key] = null;

  if (entry.data_format_version === "0.2.0") {
    if (entry.test_keys === null) nestTestKeys(entry);
    return entry;
  }

  let testStart = utcFromTimestamp(pop(entry, "start_time", 0));
  let measurementStart: string;
  const tst = pop(entry, "test_start_time", null);
  // The old test_start_time is today's measurement_start_time.
  if (typeof tst === "number") measurementStart = utcFromTimestamp(tst);
  else if (tst === null) measurementStart = testStart;
  else {
    testStart = strptime(tst);
    measurementStart = strptime(get(entry, "measurement_start_time"));
  }
  entry.measurement_start_time = measurementStart;
  entry.test_start_time = testStart;
  entry.data_format_version = "0.2.0";
  if (isDict(entry.options)) entry.options = has(entry.options, "subargs") ? entry.options.subargs : [];

  nestTestKeys(entry);
  if (PROCESS.has(testName)) fail(`unsupported test ${testName}`);
  if (HTTPT.has(testName)) normalizeHttpt(entry);
  if (DNST.has(testName)) normalizeDnst(entry);
  if (SCAPYT.has(testName) || UNSUPPORTED.has(testName)) fail(`unsupported test ${testName}`);
  return entry;
}

const ASCII_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

function textBytes(v: unknown, dflt: string): Buffer {
  if (v instanceof Uint8Array) return Buffer.from(v);
  return Buffer.from(typeof v === "string" ? v : dflt, "utf8");
}

/** The report_id upstream made up for legacy reports without one (UTC, as the fastpath ran). */
export function legacyReportId(header: Dict): string {
  const start = get(header, "start_time");
  const ms = typeof start === "number" && Number.isFinite(start) ? start * 1000 : 0;
  const t = formatDateTime(ms).replace(/[-:]/g, "").replace(" ", "T");
  const digest = createHash("sha512")
    .update(
      Buffer.concat([
        textBytes(get(header, "probe_cc"), "ZZ"),
        textBytes(get(header, "probe_asn"), "AS0"),
        textBytes(get(header, "test_name"), "invalid"),
        textBytes(get(header, "software_version"), "0.0.0"),
        has(header, "probe_city") && header.probe_city === null
          ? Buffer.alloc(0)
          : textBytes(get(header, "probe_city"), "None"),
      ]),
    )
    .digest();
  let suffix = "";
  for (const b of digest) suffix += ASCII_LETTERS[b % ASCII_LETTERS.length];
  return `${t}Z_${suffix.slice(0, 50)}`;
}

/** Upstream's id for measurements without a measurement_uid: "01" + day + shake128(raw). */
export function trivialId(raw: Uint8Array, msm: Dict): string {
  const ms = parsePyDateTime(own(msm, "measurement_start_time") ?? "");
  const day = ms === null ? "00000000" : formatDateTime(ms).slice(0, 10).replaceAll("-", "");
  const h = createHash("shake128", { outputLength: 15 }).update(raw).digest("hex");
  return `01${day}${h}`;
}

/**
 * A legacy YAML report → its normalised measurements, each with a measurement_uid (trivial id).
 * Entries upstream could not normalise (unsupported tests, broken YAML) are left out.
 */
export function normalizeLegacyYamlReport(
  text: string,
  opts: { bucketDate?: string; reportFilename?: string } = {},
): Dict[] {
  const blobs = splitYamlDocuments(Buffer.from(text, "utf8"));
  const headerBlob = blobs[0];
  if (!headerBlob) return [];
  let header: unknown;
  try {
    header = loadYaml(headerBlob.toString("utf8"));
  } catch {
    return [];
  }
  if (!isDict(header)) return [];
  if (!truthy(get(header, "report_id"))) header.report_id = legacyReportId(header);
  const headerHash = createHash("sha1").update(headerBlob);

  const out: Dict[] = [];
  for (const blob of blobs.slice(1)) {
    let entry: unknown;
    try {
      entry = loadYaml(blob.toString("utf8"));
    } catch {
      continue;
    }
    if (!truthy(entry) || !isDict(entry)) continue; // e.g. "---\nnull\n...\n"
    if (has(entry, "test_start_time") && has(header, "test_start_time")) delete header.test_start_time;
    Object.assign(entry, structuredClone(header));
    const entryHash = headerHash.copy().update(blob).digest();
    try {
      const msm = normalizeLegacyEntry(entry, { ...opts, entryHash });
      msm.measurement_uid = trivialId(blob, msm);
      out.push(toJsonSafe(msm) as Dict);
    } catch {
      continue; // upstream logged and skipped entries it could not normalise
    }
  }
  return out;
}
