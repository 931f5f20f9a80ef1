import type { ErrorBody } from "#shared/errors";

export function jsonError(status: number, error: string, extra: Record<string, unknown> = {}): Response {
  const body: ErrorBody = { error, ...extra };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}
