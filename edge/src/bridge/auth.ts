// Tokens for the bridge's own endpoints: `Authorization: Bearer <token>`, or HTTP Basic with the
// token as password (any user name) so that a browser can open the status page with its prompt.

const encoder = new TextEncoder();

function presented(req: Request): string | null {
  const header = req.headers.get("authorization");
  if (!header) return null;
  const space = header.indexOf(" ");
  if (space < 0) return null;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === "bearer") return value;
  if (scheme === "basic") {
    try {
      const decoded = atob(value);
      const colon = decoded.indexOf(":");
      return colon < 0 ? null : decoded.slice(colon + 1);
    } catch {
      return null;
    }
  }
  return null;
}

/** Constant-time comparison (of SHA-256 digests, so lengths leak nothing either). */
export async function authorized(req: Request, expected: string): Promise<boolean> {
  const given = presented(req);
  if (given === null) return false;
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}
