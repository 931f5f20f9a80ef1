import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../http/router";
import { VERSION } from "../version";

const startedAt = Date.now();

async function timed(check: () => Promise<void>, timeoutMs: number) {
  const t0 = performance.now();
  try {
    await Promise.race([
      check(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    return { ok: true as const, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return { ok: false as const, ms: Math.round(performance.now() - t0), error: (err as Error).message };
  }
}

const Check = z.object({ ok: z.boolean(), ms: z.number(), kind: z.string(), error: z.string().optional() });
const Health = z
  .object({
    status: z.enum(["ok", "unavailable"]),
    version: z.string(),
    uptime_s: z.number(),
    checks: z.object({ database: Check, blob_store: Check }),
  })
  .openapi("Health");

const route = createRoute({
  method: "get",
  path: "/health",
  tags: ["operations"],
  summary: "Liveness and dependency checks",
  responses: {
    200: { description: "every dependency answers", content: { "application/json": { schema: Health } } },
    503: { description: "a dependency is down (named in checks)", content: { "application/json": { schema: Health } } },
  },
});

export function healthRoutes() {
  const app = createRouter();
  app.openapi(route, async (c) => {
    const { db, blobs } = c.get("services");
    const [database, blobStore] = await Promise.all([timed(() => db.check(), 5000), timed(() => blobs.check(), 5000)]);
    const ok = database.ok && blobStore.ok;
    c.header("Cache-Control", "no-store");
    const body = {
      status: ok ? ("ok" as const) : ("unavailable" as const),
      version: VERSION,
      uptime_s: Math.round((Date.now() - startedAt) / 1000),
      checks: {
        database: { ...database, kind: db.description },
        blob_store: { ...blobStore, kind: blobs.description },
      },
    };
    return ok ? c.json(body, 200) : c.json(body, 503);
  });
  return app;
}
