import { Hono } from "hono";
import type { AppEnv } from "../app-env";
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

/** GET /health: 200 when every dependency answers, 503 (with the failing check named) otherwise. */
export function healthRoutes() {
  const app = new Hono<AppEnv>();
  app.get("/health", async (c) => {
    const { db, blobs } = c.get("services");
    const [database, blobStore] = await Promise.all([timed(() => db.check(), 5000), timed(() => blobs.check(), 5000)]);
    const ok = database.ok && blobStore.ok;
    c.header("Cache-Control", "no-store");
    return c.json(
      {
        status: ok ? "ok" : "unavailable",
        version: VERSION,
        uptime_s: Math.round((Date.now() - startedAt) / 1000),
        checks: {
          database: { ...database, kind: db.description },
          blob_store: { ...blobStore, kind: blobs.description },
        },
      },
      ok ? 200 : 503,
    );
  });
  return app;
}
