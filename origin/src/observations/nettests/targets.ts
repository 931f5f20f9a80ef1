import { isIP } from "node:net";
import type { WebObservationRow } from "../rows";

// Named targets of the instant-messaging tests (upstream's oonipipeline targets.py): these tests
// have no input, they probe a fixed pool of a platform's endpoints, so each obs_web row is tagged
// with the service it belongs to (target_id), keyed by role so that a renamed host (Signal's
// textsecure-service.whispersystems.org → chat.signal.org) stays one series.

export type Platform = "telegram" | "whatsapp" | "signal" | "facebook_messenger";

const EXACT: Record<Platform, Record<string, string>> = {
  telegram: { "web.telegram.org": "telegram/web" },
  whatsapp: { "v.whatsapp.net": "whatsapp/registration", "web.whatsapp.com": "whatsapp/web" },
  signal: {
    "chat.signal.org": "signal/chat",
    "textsecure-service.whispersystems.org": "signal/chat",
    "cdsi.signal.org": "signal/directory",
    "api.directory.signal.org": "signal/directory",
    "sfu.voip.signal.org": "signal/sfu",
    "storage.signal.org": "signal/storage",
    "uptime.signal.org": "signal/uptime",
  },
  facebook_messenger: {
    "star.c10r.facebook.com": "facebook_messenger/star",
    "b-api.facebook.com": "facebook_messenger/b_api",
    "b-graph.facebook.com": "facebook_messenger/b_graph",
    "edge-mqtt.facebook.com": "facebook_messenger/edge",
    "external.xx.fbcdn.net": "facebook_messenger/external_cdn",
    "scontent.xx.fbcdn.net": "facebook_messenger/scontent_cdn",
    "stun.fbsbx.com": "facebook_messenger/stun",
  },
};

const PATTERNS: Partial<Record<Platform, readonly [RegExp, string][]>> = {
  whatsapp: [[/^e\d+\.whatsapp\.net$/, "whatsapp/endpoints"]],
  signal: [[/^cdn\d*\.signal\.org$/, "signal/cdn"]],
};

/** The target a row belongs to, by hostname, else by address (Telegram probes its datacentres by IP). */
export function resolveTargetId(platform: Platform, hostname: string | null, ip: string | null): string | null {
  const candidate = hostname || ip;
  if (!candidate) return null;
  const exact = EXACT[platform][candidate];
  if (exact) return exact;
  for (const [re, id] of PATTERNS[platform] ?? []) if (re.test(candidate)) return id;
  // The datacentre addresses change over time: any address in a telegram measurement is the pool.
  if (platform === "telegram" && isIP(candidate) !== 0) return "telegram/dc_pool";
  return null;
}

/** After pairing (which works across the whole measurement), not per target: same rows either way. */
export function assignTargetIds(platform: Platform, rows: WebObservationRow[]): void {
  for (const r of rows) {
    const id = resolveTargetId(platform, r.hostname, r.ip);
    if (id !== null) r.target_id = id;
  }
}
