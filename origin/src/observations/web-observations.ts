import { createHash } from "node:crypto";
import { fixAddress, isIpAddress, splitNetloc, urlHostname } from "./addresses";
import { isIpBogon } from "./bogon";
import { certificateMeta } from "./certificate";
import { normalizeFailure } from "./failure";
import { chTime, type MeasurementMeta, type ProbeMeta, type WebObservationRow } from "./rows";
import { arr, bool, dict, int, num, str, type Dict } from "./values";
import { OBS_WEB_COLUMNS } from "./columns";

// The parts every web-like test reports (DNS queries, TCP connects, TLS handshakes with their
// network events, HTTP requests) → obs_web rows: one per DNS answer, with the TCP connect, TLS
// handshake and HTTP request to that address beside it. The pairing rules are upstream's
// (oonipipeline transforms/measurement_transformer.py, MeasurementTransformer): by transaction id,
// else by IP, each observation used once, leftovers in rows of their own. Shared by
// web_connectivity and the tests in nettests/.

export interface Dns {
  hostname: string;
  query_type: string | null;
  failure: string | null;
  engine: string | null;
  resolver_address: string | null;
  answer_type: string | null;
  answer: string | null;
  answer_asn: number | null;
  answer_as_org_name: string | null;
  transaction_id: number | null;
  t: number | null;
}

export interface Tcp {
  ip: string;
  port: number | null;
  success: number | null;
  failure: string | null;
  transaction_id: number | null;
  t: number | null;
}

export interface Tls {
  ip: string | null;
  port: number | null;
  failure: string | null;
  server_name: string;
  outer_server_name: string;
  echconfig: string;
  version: string;
  cipher_suite: string;
  is_certificate_valid: number | null;
  fingerprint: string | null;
  subject: string | null;
  subject_cn: string | null;
  issuer: string | null;
  issuer_cn: string | null;
  san_list: string[];
  not_valid_after: string | null;
  not_valid_before: string | null;
  chain_length: number | null;
  chain_fingerprints: string[];
  read_count: number | null;
  write_count: number | null;
  read_bytes: number | null;
  write_bytes: number | null;
  last_operation: string | null;
  handshake_time: number | null;
  transaction_id: number | null;
  t: number | null;
}

export interface Http {
  ip: string | null;
  port: number | null;
  hostname: string;
  request_url: string;
  network: string;
  alpn: string | null;
  failure: string | null;
  request_body_length: number;
  request_method: string;
  runtime: number | null;
  response_body_length: number | null;
  response_body_is_truncated: number | null;
  response_body_sha1: string | null;
  response_status_code: number | null;
  response_header_location: string | null;
  response_header_server: string | null;
  request_redirect_from: string | null;
  request_body_is_truncated: number | null;
  transaction_id: number | null;
  t: number | null;
}

type Linked = Tcp | Tls | Http;

/**
 * Base64 as Python's b64decode reads it: characters outside the alphabet are skipped, but missing
 * padding is an error (which fails the measurement, as upstream's loader does).
 */
function base64Strict(s: string): Buffer {
  const clean = s.replace(/[^A-Za-z0-9+/=]/g, "");
  const body = clean.replace(/=+$/, "");
  if (body.includes("=")) return Buffer.from(body.slice(0, body.indexOf("=")), "base64");
  if (body.length % 4 === 1) throw new Error(`invalid base64: ${body.length} data characters`);
  if (clean.length - body.length < (4 - (body.length % 4)) % 4) throw new Error("invalid base64: incorrect padding");
  return Buffer.from(body, "base64");
}

/** A string or `{format: "base64", data}` → bytes (upstream's maybe_binary_data_to_bytes). */
export function binaryBytes(v: unknown): Buffer | null {
  if (typeof v === "string") return Buffer.from(v, "utf8");
  const d = dict(v);
  if (d && typeof d.data === "string") return base64Strict(d.data);
  return null;
}

export function binaryText(v: unknown): string | null {
  if (typeof v === "string") return v;
  const b = binaryBytes(v);
  return b === null ? null : b.toString("utf8");
}

/** headers_list, else built from the headers dict (as upstream's HTTPBase does). */
function headerPairs(part: Dict): [unknown, unknown][] {
  const list = arr(part.headers_list);
  if (list && list.length > 0) return list.filter((p): p is [unknown, unknown] => Array.isArray(p) && p.length >= 2) as [unknown, unknown][];
  const headers = dict(part.headers);
  return headers ? Object.entries(headers) : [];
}

function firstHeader(part: Dict | null, name: string): string | null {
  if (!part) return null;
  for (const [k, v] of headerPairs(part)) {
    const key = binaryText(k);
    if (key !== null && key.toLowerCase() === name) return binaryText(v);
  }
  return null;
}

function hostPort(address: string): { ip: string | null; port: number | null } {
  const p = splitNetloc(fixAddress(address));
  return { ip: p.hostname, port: p.port };
}

export function dnsObservations(queries: unknown[] | null): Dns[] {
  const out: Dns[] = [];
  for (const qv of queries ?? []) {
    const q = dict(qv);
    if (!q) continue;
    const one = (a: Dict | null): Dns => ({
      hostname: str(q.hostname) ?? "",
      query_type: str(q.query_type),
      failure: normalizeFailure(q.failure),
      engine: str(q.engine),
      resolver_address: str(q.resolver_address),
      answer_type: a ? str(a.answer_type) : null,
      answer: a ? str(a.ipv4) || str(a.ipv6) || str(a.hostname) || null : null,
      answer_asn: a ? int(a.asn) || 0 : null,
      answer_as_org_name: a ? str(a.as_org_name) || "" : null,
      transaction_id: int(q.transaction_id),
      t: num(q.t),
    });
    const answers = arr(q.answers);
    if (!answers || answers.length === 0) out.push(one(null));
    else for (const av of answers) out.push(one(dict(av) ?? {}));
  }
  return out;
}

export function tcpObservations(connects: unknown[] | null): Tcp[] {
  const out: Tcp[] = [];
  for (const cv of connects ?? []) {
    const c = dict(cv);
    if (!c) continue;
    const ip = str(c.ip) ?? "";
    // Older probes put names (or their own scrubbed address) here: not an observation of an IP.
    if (!ip.includes("[scrubbed]") && !isIpAddress(ip)) continue;
    const status = dict(c.status) ?? {};
    out.push({
      ip: fixAddress(ip),
      port: int(c.port),
      success: bool(status.success),
      failure: normalizeFailure(status.failure),
      transaction_id: int(c.transaction_id),
      t: num(c.t),
    });
  }
  return out;
}

export interface NetEvent {
  operation: string;
  t: number;
  address: string | null;
  num_bytes: number | null;
  transaction_id: number | null;
}

export function netEvents(v: unknown[] | null): NetEvent[] {
  return (v ?? []).flatMap((ev) => {
    const e = dict(ev);
    if (!e) return [];
    return [{ operation: str(e.operation) ?? "", t: num(e.t) ?? 0, address: str(e.address), num_bytes: int(e.num_bytes), transaction_id: int(e.transaction_id) }];
  });
}

/**
 * Without transaction ids: the events between a "connect" and the "tls_handshake_done" whose time
 * equals the handshake's; when several windows match, the one at the handshake's own index.
 */
function eventsWithoutTransactionId(t: number | null, srcIdx: number, events: NetEvent[]): NetEvent[] | null {
  const windows: NetEvent[][] = [];
  const matched: number[] = [];
  let current: NetEvent[] = [];
  for (const ev of events) {
    if (ev.operation === "connect") current = [ev];
    else if (ev.operation === "tls_handshake_done") {
      current.push(ev);
      if (ev.t === t) matched.push(windows.length);
      windows.push(current);
      current = [];
    } else if (current.length > 0) current.push(ev);
  }
  if (matched.length === 1) return windows[matched[0]!]!;
  if (matched.length > 1 && matched.includes(srcIdx)) return windows[srcIdx]!;
  return null;
}

function eventsWithTransactionId(tid: number | null, address: string | null, events: NetEvent[]): NetEvent[] {
  const mine = events.filter((e) => e.transaction_id === tid).sort((a, b) => a.t - b.t);
  if (mine.length === 0) throw new Error("no network events for a TLS handshake's transaction id");
  if (mine[0]!.address !== address) throw new Error("inconsistent address detected");
  return mine;
}

/** A test that pins its own roots (signal) validates the chains itself, at the handshake's time. */
export interface ChainValidation {
  validateChain: (chain: readonly Buffer[], at: Date) => boolean;
  startTime: Date;
}

export function tlsObservations(handshakes: unknown[] | null, events: NetEvent[], chains?: ChainValidation): Tls[] {
  const out: Tls[] = [];
  (handshakes ?? []).forEach((hv, idx) => {
    const h = dict(hv) ?? {};
    const o: Tls = {
      ip: null,
      port: null,
      failure: normalizeFailure(h.failure),
      server_name: str(h.server_name) || "",
      outer_server_name: str(h.outer_server_name) || "",
      echconfig: str(h.echconfig) || "",
      version: str(h.tls_version) || "",
      cipher_suite: str(h.cipher_suite) || "",
      is_certificate_valid: null,
      fingerprint: null,
      subject: null,
      subject_cn: null,
      issuer: null,
      issuer_cn: null,
      san_list: [],
      not_valid_after: null,
      not_valid_before: null,
      chain_length: null,
      chain_fingerprints: [],
      read_count: null,
      write_count: null,
      read_bytes: null,
      write_bytes: null,
      last_operation: null,
      handshake_time: null,
      transaction_id: int(h.transaction_id),
      t: num(h.t),
    };
    const address = str(h.address);
    if (address) ({ ip: o.ip, port: o.port } = hostPort(address));

    let mine: NetEvent[] | null = null;
    if (events.length > 0) {
      mine = events[0]!.transaction_id === null ? eventsWithoutTransactionId(o.t, idx, events) : eventsWithTransactionId(o.transaction_id, address, events);
    }
    if (mine && mine.length > 0) {
      if (mine[0]!.address) ({ ip: o.ip, port: o.port } = hostPort(mine[0]!.address));
      o.handshake_time = mine[mine.length - 1]!.t - mine[0]!.t;
      o.read_count = o.write_count = o.read_bytes = o.write_bytes = 0;
      for (const ev of mine) {
        if (ev.operation === "write") {
          if (ev.num_bytes) {
            o.write_count++;
            o.write_bytes += ev.num_bytes;
          }
          o.last_operation = `write_${o.write_count}`;
        } else if (ev.operation === "read" && ev.num_bytes) {
          o.read_count++;
          o.read_bytes += ev.num_bytes;
          o.last_operation = `read_${o.read_count}`;
        }
      }
    }

    const peers = arr(h.peer_certificates);
    let ders: Buffer[] = [];
    if (peers && peers.length > 0) {
      // Upstream tolerates undecodable certificates: no fingerprints, no metadata, the length kept.
      try {
        ders = peers.map((p) => binaryBytes(p) ?? Buffer.alloc(0));
      } catch {
        ders = [];
      }
      o.chain_fingerprints = ders.slice(1).map((d) => createHash("sha256").update(d).digest("hex"));
      o.chain_length = peers.length;
      if (ders.length > 0) {
        try {
          const meta = certificateMeta(ders[0]!);
          o.fingerprint = meta.fingerprint;
          o.subject = meta.subject;
          o.subject_cn = meta.subjectCommonName;
          o.issuer = meta.issuer;
          o.issuer_cn = meta.issuerCommonName;
          o.not_valid_after = chTime(meta.notValidAfter);
          o.not_valid_before = chTime(meta.notValidBefore);
          o.san_list = meta.sanList;
        } catch {
          // Upstream logs and leaves the certificate columns empty.
        }
      }
    }
    if (chains && ders.length > 0) {
      o.is_certificate_valid = chains.validateChain(ders, new Date(chains.startTime.getTime() + (o.t ? o.t * 1000 : 0))) ? 1 : 0;
    } else if (h.no_tls_verify === false) {
      // Only an explicit no_tls_verify=false says the probe validated the chain.
      if (o.failure === "ssl_invalid_hostname" || o.failure === "ssl_unknown_authority" || o.failure === "ssl_invalid_certificate") o.is_certificate_valid = 0;
      else if (!o.failure) o.is_certificate_valid = 1;
    }
    out.push(o);
  });
  return out;
}

export function httpObservations(requests: unknown[] | null): Http[] {
  const list = requests ?? [];
  const out: Http[] = [];
  list.forEach((tv, idx) => {
    const tx = dict(tv);
    const req = tx ? dict(tx.request) : null;
    if (!tx || !req) return; // not knowing what was requested, it observes nothing
    let network = str(tx.network) || (req.x_transport === undefined ? "tcp" : str(req.x_transport)) || "tcp";
    if (network === "quic") network = "udp";
    const url = str(req.url) ?? "";
    const reqBody = req.body === undefined || req.body === null ? null : binaryBytes(req.body);
    const t = num(tx.t);
    const t0 = num(tx.t0);
    const o: Http = {
      ip: null,
      port: null,
      hostname: urlHostname(url) ?? "",
      request_url: url,
      network,
      alpn: str(tx.alpn),
      failure: normalizeFailure(tx.failure),
      request_body_length: reqBody && reqBody.length > 0 ? reqBody.length : 0,
      request_method: str(req.method) || "",
      runtime: t !== null && t0 !== null ? t - t0 : null,
      response_body_length: null,
      response_body_is_truncated: null,
      response_body_sha1: null,
      response_status_code: null,
      response_header_location: null,
      response_header_server: null,
      request_redirect_from: null,
      request_body_is_truncated: bool(req.body_is_truncated),
      transaction_id: int(tx.transaction_id),
      t,
    };
    const address = str(tx.address);
    if (address) ({ ip: o.ip, port: o.port } = hostPort(address));
    const res = dict(tx.response);
    if (res) {
      o.response_body_is_truncated = bool(res.body_is_truncated);
      const body = res.body === undefined || res.body === null ? null : binaryBytes(res.body);
      if (body && body.length > 0) {
        o.response_body_length = body.length;
        o.response_body_sha1 = createHash("sha1").update(body).digest("hex");
      }
      o.response_status_code = int(res.code);
      o.response_header_location = firstHeader(res, "location");
      o.response_header_server = firstHeader(res, "server");
      // Requests are listed newest first: the one after this one may have redirected here.
      const prev = dict(list[idx + 1]);
      const prevRes = prev ? dict(prev.response) : null;
      if (prevRes && firstHeader(prevRes, "location") === o.request_url) {
        const prevReq = dict(prev!.request);
        if (prevReq) o.request_redirect_from = str(prevReq.url);
      }
    }
    out.push(o);
  });
  return out;
}

function byTransactionId<T extends Linked>(tid: number | null, list: T[]): T | null {
  if (!tid) return null;
  return list.find((o) => o.transaction_id === tid) ?? null;
}

function byIp<T extends Linked>(ip: string | null, list: T[]): T | null {
  return list.find((o) => o.ip === ip) ?? null;
}

function related(tid: number | null, ip: string | null, tcp: Tcp[] | null, tls: Tls[] | null, http: Http[] | null) {
  let tcpO = tcp && tcp.length ? byTransactionId(tid, tcp) : null;
  let tlsO = tls && tls.length ? byTransactionId(tid, tls) : null;
  let httpO = http && http.length ? byTransactionId(tid, http) : null;
  if (!tcpO && tcp && tcp.length && ip) tcpO = byIp(ip, tcp);
  if (!tlsO && tls && tls.length && ip) tlsO = byIp(ip, tls);
  if (!httpO && http && http.length && ip) httpO = byIp(ip, http);
  return { tcpO, tlsO, httpO };
}

function remove<T>(list: T[], item: T | null): void {
  if (!item) return;
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

// Rows are built by copying a template with every column present, in column order, and then
// assigning: V8 keeps such objects fast. An object literal spreading several objects of this size
// falls into a slow path (hundreds of µs a row, measured).
const WEB_DEFAULTS = Object.fromEntries(OBS_WEB_COLUMNS.map(([name, type]) => [name, type.startsWith("Array") ? [] : null])) as unknown as WebObservationRow;

export function assignAll<T extends object>(target: T, source: object): T {
  for (const k of Object.keys(source)) (target as Record<string, unknown>)[k] = (source as Record<string, unknown>)[k];
  return target;
}

/** The measurement's columns filled in, every observation column empty. */
export function webTemplate(meta: MeasurementMeta, probe: ProbeMeta, createdAt: string | null, probeAnalysis: string | null): WebObservationRow {
  const t = assignAll(assignAll({ ...WEB_DEFAULTS }, meta), probe);
  t.created_at = createdAt;
  t.probe_analysis = probeAnalysis;
  return t;
}

function webRow(
  base: WebObservationRow,
  dns: Dns | null,
  tcp: Tcp | null,
  tls: Tls | null,
  http: Http | null,
): WebObservationRow {
  const r = base;
  let dnsIp: string | null = null;
  if (dns && dns.answer && isIpAddress(fixAddress(dns.answer))) dnsIp = fixAddress(dns.answer);
  r.ip = dnsIp || tcp?.ip || tls?.ip || http?.ip || null;
  r.port = tcp?.port || tls?.port || http?.port || null;
  // Python's `(dns and dns.hostname) or (http and http.hostname)`: "" survives only from http.
  r.hostname = dns?.hostname || (http ? http.hostname : null);
  if (!r.hostname && tls && tls.server_name && !isIpAddress(tls.server_name)) r.hostname = tls.server_name;
  if (r.ip) r.ip_is_bogon = isIpBogon(r.ip) ? 1 : 0;
  r.transaction_id = tcp?.transaction_id || tls?.transaction_id || http?.transaction_id || null;
  if (dns) {
    r.dns_query_type = dns.query_type;
    r.dns_failure = dns.failure;
    r.dns_engine = dns.engine;
    r.dns_engine_resolver_address = dns.resolver_address;
    r.dns_answer_type = dns.answer_type;
    r.dns_answer = dns.answer;
    r.dns_answer_asn = dns.answer_asn;
    r.dns_answer_as_org_name = dns.answer_as_org_name;
    r.dns_t = dns.t;
  }
  if (tcp) {
    r.tcp_failure = tcp.failure;
    r.tcp_success = tcp.success;
    r.tcp_t = tcp.t;
  }
  if (tls) {
    r.tls_failure = tls.failure;
    r.tls_server_name = tls.server_name;
    r.tls_outer_server_name = tls.outer_server_name;
    r.tls_echconfig = tls.echconfig;
    r.tls_version = tls.version;
    r.tls_cipher_suite = tls.cipher_suite;
    r.tls_is_certificate_valid = tls.is_certificate_valid;
    r.tls_end_entity_certificate_fingerprint = tls.fingerprint;
    r.tls_end_entity_certificate_subject = tls.subject;
    r.tls_end_entity_certificate_subject_common_name = tls.subject_cn;
    r.tls_end_entity_certificate_issuer = tls.issuer;
    r.tls_end_entity_certificate_issuer_common_name = tls.issuer_cn;
    r.tls_end_entity_certificate_san_list = tls.san_list;
    r.tls_end_entity_certificate_not_valid_after = tls.not_valid_after;
    r.tls_end_entity_certificate_not_valid_before = tls.not_valid_before;
    r.tls_certificate_chain_length = tls.chain_length;
    r.tls_certificate_chain_fingerprints = tls.chain_fingerprints;
    r.tls_handshake_read_count = tls.read_count;
    r.tls_handshake_write_count = tls.write_count;
    r.tls_handshake_read_bytes = tls.read_bytes;
    r.tls_handshake_write_bytes = tls.write_bytes;
    r.tls_handshake_last_operation = tls.last_operation;
    r.tls_handshake_time = tls.handshake_time;
    r.tls_t = tls.t;
  }
  if (http) {
    r.http_request_url = http.request_url;
    r.http_network = http.network;
    r.http_alpn = http.alpn;
    r.http_failure = http.failure;
    r.http_request_body_length = http.request_body_length;
    r.http_request_method = http.request_method;
    r.http_runtime = http.runtime;
    r.http_response_body_length = http.response_body_length;
    r.http_response_body_is_truncated = http.response_body_is_truncated;
    r.http_response_body_sha1 = http.response_body_sha1;
    r.http_response_status_code = http.response_status_code;
    r.http_response_header_location = http.response_header_location;
    r.http_response_header_server = http.response_header_server;
    r.http_request_redirect_from = http.request_redirect_from;
    r.http_request_body_is_truncated = http.request_body_is_truncated;
    r.http_t = http.t;
  }
  return r;
}

export interface WebParts {
  dns?: Dns[];
  tcp?: Tcp[];
  tls?: Tls[];
  http?: Http[];
}

/**
 * One measurement's obs_web rows, built by one or more consume() calls (tests with several
 * targets consume each target's parts in turn): observation_idx counts on across calls, from 1,
 * as upstream's transformer keeps one counter per measurement.
 */
export class WebRows {
  readonly rows: WebObservationRow[] = [];
  private idx = 1;

  constructor(private readonly template: WebObservationRow) {}

  /** A row with only the measurement's columns filled in (tests that report no network parts). */
  blankRow(): WebObservationRow {
    return { ...this.template };
  }

  /**
   * Pairs the parts into rows and appends them; returns this call's rows. The lists are used up.
   * `hints` (address → hostname) names rows that have an address but no hostname.
   */
  consume(parts: WebParts, targetId: string | null = null, hints?: ReadonlyMap<string, string>): WebObservationRow[] {
    const dns = parts.dns ?? [];
    const tcp = parts.tcp ?? [];
    const tls = parts.tls ?? [];
    const http = parts.http ?? [];
    const out: WebObservationRow[] = [];
    const add = (d: Dns | null, t: Tcp | null, s: Tls | null, h: Http | null) => {
      const row = { ...this.template };
      row.observation_idx = this.idx++;
      row.target_id = targetId;
      out.push(webRow(row, d, t, s, h));
    };
    for (const d of dns) {
      const { tcpO, tlsO, httpO } = related(d.transaction_id, d.answer, tcp, tls, http);
      add(d, tcpO, tlsO, httpO);
      remove(tcp, tcpO);
      remove(tls, tlsO);
      remove(http, httpO);
    }
    for (const t of tcp) {
      const { tlsO, httpO } = related(t.transaction_id, t.ip, null, tls, http);
      remove(tls, tlsO);
      remove(http, httpO);
      add(null, t, tlsO, httpO);
    }
    for (const s of tls) {
      const { httpO } = related(s.transaction_id, s.ip, null, null, http);
      remove(http, httpO);
      add(null, null, s, httpO);
    }
    for (const h of http) add(null, null, null, h);
    if (hints && hints.size > 0) for (const r of out) if (!r.hostname && r.ip) r.hostname = hints.get(r.ip) ?? null;
    this.rows.push(...out);
    return out;
  }
}
