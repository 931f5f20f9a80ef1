import { Hono } from "hono";
import { createControlHandler } from "./handler";
import { resolveOptions, type TestHelperOptions } from "./options";
import { readBodyBounded } from "./request-body";

/**
 * The Web Connectivity test helper (oohelperd protocol) as a hono app, for in-process use: any path,
 * GET says hello, POST measures, anything else is a 400. Every answer is JSON. The server
 * (server.ts) serves the same handler with node:http directly.
 */
export function createTestHelperApp(opts: TestHelperOptions = {}) {
  const handler = createControlHandler(resolveOptions(opts));
  const app = new Hono();
  app.all("*", async (c) => {
    const a = await handler.answer(c.req.method, c.req.header("user-agent"), (max) => readBodyBounded(c.req.raw, max), c.req.raw.signal);
    return c.json(a.body as object, a.status as 200, a.headers);
  });
  return app;
}
