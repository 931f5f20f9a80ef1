import { z } from "@hono/zod-openapi";
import { formatAsn } from "../geoip/geoip";
import { reportIdParts } from "../intake/report-id";
import type { Services } from "../services";
import { checkInAnswerChunks, confJson } from "./checkin-answer";
import type { RequestSite } from "./test-helpers";
import { probeTime } from "./tokens";

// What POST /api/v1/check-in answers, apart from HTTP: the request schema and the answer computed
// from a validated body, the client address and the bridge. Two callers share it so that they
// cannot drift apart: the hono route (routes-checkin.ts, which also documents it in OpenAPI) and
// the direct handler on the Node server (checkin-direct/) that serves the common case without
// hono's middleware chain.

/** Tests that get a report_id at check-in (the legacy API's list). */
export const CHECK_IN_TESTS = [
  "bridge_reachability", "dash", "dns_consistency", "dnscheck", "facebook_messenger",
  "http_header_field_manipulation", "http_host", "http_invalid_request_line", "http_requests",
  "meek_fronted_requests_test", "multi_protocol_traceroute", "ndt", "psiphon", "riseupvpn",
  "tcp_connect", "telegram", "tor", "urlgetter", "vanilla_tor", "web_connectivity", "whatsapp",
] as const;

const CategoryCodes = z
  .union([z.array(z.string().regex(/^[A-Za-z]{0,20}$/)).max(100), z.string().regex(/^[A-Za-z,]{0,2000}$/)])
  .openapi({ description: "list of category codes, or a comma-separated string (old clients); empty = all" });

export const CheckInRequest = z
  .looseObject({
    charging: z.boolean().default(true),
    on_wifi: z.boolean().optional(),
    platform: z.string().max(100).optional(),
    probe_asn: z.string().regex(/^[Aa][Ss][0-9]{1,10}$/, { error: 'must look like "AS1234"' }).default("AS0"),
    probe_cc: z.string().regex(/^[A-Za-z]{2}$/, { error: "must be two letters" }).default("ZZ"),
    run_type: z.string().max(32).default("timed"),
    software_name: z.string().max(100).optional(),
    software_version: z.string().max(100).optional(),
    web_connectivity: z.looseObject({ category_codes: CategoryCodes.optional() }).nullish(),
  })
  .openapi("CheckInRequest");

export type CheckInBody = z.infer<typeof CheckInRequest>;

export function categoryList(v: string | string[] | undefined | null): string[] {
  if (v == null || v.length === 0) return []; // what nearly every probe sends: no filter
  const list = typeof v === "string" ? v.split(",") : (v ?? []);
  return [...new Set(list.map((c) => c.trim().toUpperCase()).filter((c) => c !== ""))];
}

export type CheckInOutcome =
  /** The answer's JSON text in consecutive pieces (checkInAnswerChunks). */
  | { ok: true; chunks: string[] }
  | { ok: false; status: 400; error: string; extra: Record<string, unknown> };

/** The answer (CheckInResponse as JSON text, in pieces) for a validated body, or the refusal. */
export function answerCheckIn(services: Services, body: CheckInBody, site: RequestSite): CheckInOutcome {
  const { geoip, config, probe, log } = services;
  const geo = geoip.lookup(site.clientIp);
  const geoAsn = formatAsn(geo.asn);
  // The probe's own cc/asn drive the list (it may be behind a VPN or tunnel we cannot see
  // through), unless it does not know them.
  let cc = body.probe_cc.toUpperCase();
  let asnText = body.probe_asn.toUpperCase();
  if (cc === "ZZ" && asnText === "AS0") {
    cc = geo.cc;
    asnText = geoAsn;
  }
  const asn = Number(asnText.slice(2));
  if (asn > 0xffffffff) return { ok: false, status: 400, error: "invalid probe_asn: out of range", extra: { parameter: "probe_asn" } };
  const limit = body.run_type === "manual" ? 9999 : body.charging ? 100 : 20;
  const list = probe.testLists.answerJson({
    cc,
    asn,
    categoryCodes: categoryList(body.web_connectivity?.category_codes),
    limit,
  });
  if (list.source !== "prioritized") log.info({ cc, asn, source: list.source, urls: list.count }, "check-in test list from fallback");

  const reportIds = reportIdParts(CHECK_IN_TESTS, cc, asn, config.collectorId);
  // Written as text from cached pieces (checkin-answer.ts), the URL list already serialized in
  // the snapshot; the shape is CheckInResponse's, as the probe-services tests check.
  const chunks = checkInAnswerChunks({
    probeCc: geo.cc,
    probeAsn: geoAsn,
    networkName: geo.as_name,
    utcTime: probeTime(new Date()),
    conf: confJson(probe.files.services.get(), site),
    testNames: CHECK_IN_TESTS,
    reportIds,
    urlsFor: "web_connectivity",
    urlsItems: list.items,
  });
  return { ok: true, chunks };
}
