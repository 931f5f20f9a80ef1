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
const SpoolCheck = Check.extend({ free_bytes: z.number().nullable(), min_free_bytes: z.number() });
const Health = z
  .object({
    // degraded: serving, but the spool is short of space, so submissions get 503 + Retry-After.
    status: z.enum(["ok", "degraded", "unavailable"]),
    version: z.string(),
    uptime_s: z.number(),
    checks: z.object({ database: Check, blob_store: Check, spool: SpoolCheck }),
  })
  .openapi("Health");

const route = createRoute({
  method: "get",
  path: "/health",
  tags: ["operations"],
  summary: "Liveness and dependency checks",
  responses: {
    200: { description: "every dependency answers (status degraded: the spool is short of space and submissions are refused with 503)", content: { "application/json": { schema: Health } } },
    503: { description: "a dependency is down (named in checks)", content: { "application/json": { schema: Health } } },
  },
});

export function healthRoutes() {
  const app = createRouter();
  app.openapi(route, async (c) => {
    const { db, blobs, spoolSpace } = c.get("services");
    const space = spoolSpace.status();
    const [database, blobStore, spoolCheck] = await Promise.all([
      timed(() => db.check(), 5000),
      timed(() => blobs.check(), 5000),
      timed(async () => {
        const s = await space;
        if (s.full) throw new Error(`spool filesystem short of space: ${s.freeBytes} bytes free, reserve ${s.minFreeBytes}`);
      }, 5000),
    ]);
    const ok = database.ok && blobStore.ok;
    const freeBytes = await space.then((s) => s.freeBytes, () => null);
    c.header("Cache-Control", "no-store");
    const body = {
      // A full spool does not make the origin unavailable (reads still work): degraded, still 200.
      status: !ok ? ("unavailable" as const) : spoolCheck.ok ? ("ok" as const) : ("degraded" as const),
      version: VERSION,
      uptime_s: Math.round((Date.now() - startedAt) / 1000),
      checks: {
        database: { ...database, kind: db.description },
        blob_store: { ...blobStore, kind: blobs.description },
        spool: { ...spoolCheck, kind: "spool", free_bytes: freeBytes, min_free_bytes: spoolSpace.minFreeBytes },
      },
    };
    return ok ? c.json(body, 200) : c.json(body, 503);
  });
  return app;
}
