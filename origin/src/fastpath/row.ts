import { unwrapEnvelope } from "./normalize";
import type { ScoreResult } from "./score";
import { formatDateTime, parsePyDateTime } from "./scoring/py-datetime";
import { getOr, isDict, own, pyInt } from "./scoring/py";
import type { Dict } from "./scoring/py";

// One row of the fastpath table (backend-reference §5) from a scored measurement. Whatever the
// measurement holds, every column gets a value of its type: garbage becomes the default.

export interface FastpathRow {
  measurement_uid: string;
  report_id: string;
  input: string;
  probe_cc: string;
  probe_asn: number;
  test_name: string;
  test_start_time: string;
  measurement_start_time: string;
  scores: string;
  platform: string;
  anomaly: "t" | "f";
  confirmed: "t" | "f";
  msm_failure: "t" | "f";
  domain: string;
  software_name: string;
  software_version: string;
  test_version: string;
  test_runtime: number;
  architecture: string;
  engine_name: string;
  engine_version: string;
  blocking_type: string;
  test_helper_address: string;
  test_helper_type: string;
  ooni_run_link_id: number | null;
  /** Anonymous-credential verdict recorded at intake: t verified, f failed, u none (upstream's codes). */
  is_verified: "t" | "f" | "u";
}

const EPOCH = "1970-01-01 00:00:00";
const UINT32_MAX = 4_294_967_295;

function str(v: unknown, dflt = ""): string {
  return typeof v === "string" ? v : dflt;
}

function tf(v: boolean): "t" | "f" {
  return v ? "t" : "f";
}

/** "AS123" (or 123) → 123; anything else 0. */
export function parseAsn(v: unknown): number {
  let n: number | undefined;
  if (typeof v === "number") n = v;
  else if (typeof v === "string") {
    const m = /^AS(\d{1,10})$/i.exec(v.trim());
    if (m) n = Number(m[1]);
  }
  return n !== undefined && Number.isInteger(n) && n >= 0 && n <= UINT32_MAX ? n : 0;
}

/** "YYYY-MM-DD hh:mm:ss" normalised (zero padded), or the epoch when unreadable. */
/** Already "YYYY-MM-DD hh:mm:ss" with every field zero padded and a year ≥ 1000. */
const CANONICAL = /^[1-9]\d{3}-\d\d-\d\d \d\d:\d\d:\d\d$/;

function dateTime(v: unknown): string {
  const ms = parsePyDateTime(v);
  if (ms === null) return EPOCH;
  // What probes send is already normalised: formatting it again would give the same text.
  return CANONICAL.test(v as string) ? (v as string) : formatDateTime(ms);
}

/** Python's urlsplit(url).netloc: the authority after "//", port and userinfo included. */
export function urlNetloc(url: string): string {
  let u = url.replace(/[\t\r\n]/g, "").replace(/^[\x00-\x20]+/, "");
  const colon = u.indexOf(":");
  if (colon > 0 && /^[A-Za-z][A-Za-z0-9+.-]*$/.test(u.slice(0, colon))) u = u.slice(colon + 1);
  if (!u.startsWith("//")) return "";
  const rest = u.slice(2);
  const end = rest.search(/[/?#]/);
  return end < 0 ? rest : rest.slice(0, end);
}

/** input and domain columns: '' when none, lists stored as "{a,b}" (meek: domain = first). */
export function inputAndDomain(msm: Dict): { input: string; domain: string } {
  const raw = own(msm, "input");
  if (Array.isArray(raw)) {
    const parts = raw.map((x) => (typeof x === "string" ? x : JSON.stringify(x) ?? ""));
    const first = parts[0] ?? "";
    const domain = own(msm, "test_name") === "meek_fronted_requests_test" ? first : urlNetloc(first);
    return { input: `{${parts.join(",")}}`, domain };
  }
  if (typeof raw === "string") return { input: raw, domain: urlNetloc(raw) };
  return { input: "", domain: "" };
}

function testHelper(msm: Dict, key: "address" | "type"): string {
  const helpers = own(msm, "test_helpers");
  if (!isDict(helpers)) return "";
  const backend = own(helpers, "backend");
  return isDict(backend) ? str(own(backend, key)) : "";
}

/** annotations.ooni_run_link_id as an integer (as Python's int() reads it), else null. */
function runLinkId(annotations: Dict): number | null {
  const v = getOr(annotations, "ooni_run_link_id", "");
  if (typeof v !== "string" && typeof v !== "number") return null;
  const n = pyInt(v);
  return n !== null && Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** Score keys upstream always writes as Python floats (`0.0`, `1.0`), never as integers. */
const FLOAT_SCORE = /(?<!\\)"(blocking_general|blocking_global|blocking_country|blocking_isp|blocking_local|accuracy)":(-?\d+)(?=[,}])/g;

/**
 * The stored scores text as upstream's ujson writes it: JSON.stringify prints the float 0.0 as
 * `0`, upstream `0.0`. Readers parse the JSON either way; this keeps the stored bytes identical.
 */
export function pyFloatScores(json: string): string {
  return json.replace(FLOAT_SCORE, '"$1":$2.0');
}

const FLOAT_KEYS = new Set(["blocking_general", "blocking_global", "blocking_country", "blocking_isp", "blocking_local", "accuracy"]);

/**
 * pyFloatScores(JSON.stringify(scores)), built key by key: the top-level float keys (where they
 * almost always are) get their ".0" directly and only nested objects go through the regex, which
 * over the whole text was ~2 % of bytes → row. Strings cannot hold a match (their quotes are
 * escaped), so skipping them changes nothing.
 */
export function scoresJson(scores: Record<string, unknown>): string {
  let out = "{";
  for (const k of Object.keys(scores)) {
    const v = scores[k];
    let text: string | undefined;
    if (typeof v === "number") {
      text = JSON.stringify(v);
      // What the regex turns into a float: an integer printed without exponent.
      if (FLOAT_KEYS.has(k) && Number.isInteger(v) && Math.abs(v) < 1e21) text += ".0";
    } else {
      text = JSON.stringify(v);
      if (text === undefined) continue;
      if (v !== null && typeof v === "object") text = pyFloatScores(text);
    }
    out += (out.length > 1 ? "," : "") + JSON.stringify(k) + ":" + text;
  }
  return out + "}";
}

export function buildFastpathRow(
  msm: unknown,
  result: ScoreResult,
  meta: { measurementUid: string; reportId?: string; isVerified?: "t" | "f" | "u" },
): FastpathRow {
  const unwrapped = unwrapEnvelope(msm);
  const m: Dict = isDict(unwrapped) ? unwrapped : {};
  const annotationsRaw = own(m, "annotations");
  const annotations: Dict = isDict(annotationsRaw) ? annotationsRaw : {};
  const { input, domain } = inputAndDomain(m);
  const runtime = own(m, "test_runtime");
  let scores: string;
  try {
    scores = scoresJson(result.scores);
  } catch {
    scores = "{}";
  }
  return {
    measurement_uid: meta.measurementUid,
    report_id: meta.reportId ?? str(own(m, "report_id")),
    input,
    probe_cc: str(own(m, "probe_cc")),
    probe_asn: parseAsn(own(m, "probe_asn")),
    test_name: str(own(m, "test_name")),
    test_start_time: dateTime(own(m, "test_start_time")),
    measurement_start_time: dateTime(own(m, "measurement_start_time")),
    scores,
    platform: str(getOr(annotations, "platform", "unset"), "unset"),
    anomaly: tf(result.anomaly),
    confirmed: tf(result.confirmed),
    msm_failure: tf(result.failure),
    domain,
    software_name: str(getOr(m, "software_name", "unknown"), "unknown"),
    software_version: str(getOr(m, "software_version", "unknown"), "unknown"),
    test_version: str(own(m, "test_version")),
    test_runtime: typeof runtime === "number" && Number.isFinite(runtime) ? runtime : 0,
    architecture: str(own(annotations, "architecture")),
    engine_name: str(own(annotations, "engine_name")),
    engine_version: str(own(annotations, "engine_version")),
    blocking_type: result.blocking_type,
    test_helper_address: testHelper(m, "address"),
    test_helper_type: testHelper(m, "type"),
    ooni_run_link_id: runLinkId(annotations),
    is_verified: meta.isVerified ?? "u",
  };
}
