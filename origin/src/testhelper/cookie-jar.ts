import { isIP } from "node:net";
import { getPublicSuffix } from "tldts";

// A per-measurement cookie jar (RFC 6265, reduced). oohelperd fetches with a jar because some sites
// set a cookie on a redirect and loop without it. The jar lives for one redirect chain only, so
// persistence and size limits do not matter; what does is which Domain attributes it accepts, since
// a cookie sent on to another host changes what that host answers. Like Go's net/http/cookiejar with
// golang.org/x/net/publicsuffix (oohelperd's jar): a Domain that is a public suffix ("co.uk",
// "github.io", ICANN and private sections alike) is refused, unless it is the request's own host,
// in which case the cookie becomes host-only.

interface Cookie {
  name: string;
  value: string;
  domain: string;
  hostOnly: boolean;
  path: string;
  secure: boolean;
  expiresAt: number | undefined;
}

/** Go's jar: the Domain is refused when it is its own public suffix (the "*" rule makes every TLD one). */
function isPublicSuffix(domain: string): boolean {
  if (!domain.includes(".")) return true;
  const suffix = getPublicSuffix(domain, { allowPrivateDomains: true });
  return suffix === null || suffix === "" || !domain.endsWith(`.${suffix}`);
}

function defaultPath(url: URL): string {
  const path = url.pathname;
  if (!path.startsWith("/")) return "/";
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}

function domainMatches(host: string, domain: string): boolean {
  if (host === domain) return true;
  return host.endsWith(`.${domain}`) && isIP(host) === 0;
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith("/") || requestPath[cookiePath.length] === "/";
}

export class CookieJar {
  #cookies: Cookie[] = [];

  /** Stores the Set-Cookie values of a response to `url`. */
  store(url: URL, setCookies: readonly string[], now = Date.now()): void {
    const host = url.hostname.toLowerCase();
    for (const line of setCookies) {
      const [pair = "", ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (name === "") continue;
      const cookie: Cookie = {
        name,
        value,
        domain: host,
        hostOnly: true,
        path: defaultPath(url),
        secure: false,
        expiresAt: undefined,
      };
      let maxAgeSeen = false;
      let rejected = false;
      for (const attr of attrs) {
        const i = attr.indexOf("=");
        const key = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
        const val = i < 0 ? "" : attr.slice(i + 1).trim();
        if (key === "domain" && val !== "") {
          const domain = val.replace(/^\./, "").toLowerCase();
          if (domain === host) continue; // same as no Domain: a host-only cookie
          if (isPublicSuffix(domain) || !domainMatches(host, domain)) rejected = true;
          else {
            cookie.domain = domain;
            cookie.hostOnly = false;
          }
        } else if (key === "path") {
          cookie.path = val.startsWith("/") ? val : defaultPath(url);
        } else if (key === "secure") {
          cookie.secure = true;
        } else if (key === "max-age" && /^-?\d+$/.test(val)) {
          maxAgeSeen = true;
          cookie.expiresAt = now + Number(val) * 1000;
        } else if (key === "expires" && !maxAgeSeen) {
          const t = Date.parse(val);
          if (!Number.isNaN(t)) cookie.expiresAt = t;
        }
      }
      if (rejected) continue;
      this.#cookies = this.#cookies.filter(
        (c) => !(c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path),
      );
      if (cookie.expiresAt === undefined || cookie.expiresAt > now) this.#cookies.push(cookie);
    }
  }

  /** The Cookie header for a request to `url`, or undefined when no cookie applies. */
  header(url: URL, now = Date.now()): string | undefined {
    const host = url.hostname.toLowerCase();
    const path = url.pathname || "/";
    const matching = this.#cookies
      .filter((c) => (c.hostOnly ? host === c.domain : domainMatches(host, c.domain)))
      .filter((c) => pathMatches(path, c.path))
      .filter((c) => !c.secure || url.protocol === "https:")
      .filter((c) => c.expiresAt === undefined || c.expiresAt > now)
      .sort((a, b) => b.path.length - a.path.length);
    if (matching.length === 0) return undefined;
    return matching.map((c) => `${c.name}=${c.value}`).join("; ");
  }
}
