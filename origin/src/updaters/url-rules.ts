// What a test-list URL must look like. These are the upstream updater's rules (the ooni/backend
// citizenlab updater's VALID_URL pattern), written out as separate checks so each rejection says
// what is wrong — plus one stricter point: the scheme is required (probes need it to measure).
//
//   http(s)://HOST[:PORT][PATH-OR-QUERY]
//   HOST  = dotted IPv4, or a domain: labels of letters, digits and inner hyphens (1–63 chars),
//           at least two, the last being 2–6 letters or 2+ letters/digits/hyphens; a trailing dot
//           is allowed
//   then  = nothing, "/", or "/" or "?" followed by non-whitespace
//   never = CR, LF, tab or backslash anywhere

const SHAPE = /^(https?):\/\/([^/?#:]*)(?::(\d+))?(.*)$/is;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
const TLD = /^(?:[a-z]{2,6}|[a-z0-9-]{2,})$/i;
const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export type UrlVerdict = { ok: true; host: string } | { ok: false; reason: string };

export function checkTestListUrl(url: string): UrlVerdict {
  if (/[\r\n\t\\]/.test(url)) return { ok: false, reason: "contains CR, LF, tab or backslash" };
  if (url !== url.trim()) return { ok: false, reason: "has leading or trailing whitespace" };
  const m = SHAPE.exec(url);
  if (!m) return { ok: false, reason: "must start with http:// or https://" };
  const host = m[2]!;
  const rest = m[4]!;
  if (host === "") return { ok: false, reason: "has no host" };
  if (!IPV4.test(host)) {
    const labels = (host.endsWith(".") ? host.slice(0, -1) : host).split(".");
    if (labels.length < 2) return { ok: false, reason: `host ${JSON.stringify(host)} is not a domain name` };
    const tld = labels.at(-1)!;
    if (!labels.slice(0, -1).every((l) => LABEL.test(l)) || !TLD.test(tld) || tld.startsWith("-") || tld.endsWith("-")) {
      return { ok: false, reason: `host ${JSON.stringify(host)} is not a valid domain name` };
    }
  }
  if (rest !== "" && rest !== "/" && !/^[/?]\S+$/.test(rest)) return { ok: false, reason: "path contains whitespace or is malformed" };
  // The pattern above is the upstream rule; the URL must also be one a probe can actually parse.
  try {
    new URL(url);
  } catch {
    return { ok: false, reason: "is not a parseable URL" };
  }
  return { ok: true, host: host.toLowerCase().replace(/\.$/, "") };
}
