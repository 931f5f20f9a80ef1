// Where the client's address comes from. In production Cloudflare sets CF-Connecting-IP itself,
// overwriting whatever the client sent. Locally (wrangler dev / Miniflare) the runtime only fills it
// in when the client did not send one, so a client could name any address and rotate it to escape
// the per-network quotas and the sticky test-helper choice. The local stack therefore sets
// LOCAL_CLIENT_ADDRESS (scripts/start.ts): every request then carries that address — everything
// that reaches a local edge comes over loopback — whatever CF-Connecting-IP it brought.

export const CLIENT_ADDRESS_HEADER = "cf-connecting-ip";

/** The request as the rest of the Worker should see it: unchanged in production. */
export function withTrustedClientAddress(req: Request, localAddress: string | undefined): Request {
  if (!localAddress) return req;
  if (req.headers.get(CLIENT_ADDRESS_HEADER) === localAddress) return req;
  const headers = new Headers(req.headers);
  headers.set(CLIENT_ADDRESS_HEADER, localAddress);
  return new Request(req, { headers });
}
