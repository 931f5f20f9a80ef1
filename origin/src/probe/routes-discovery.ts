import { createRoute, z } from "@hono/zod-openapi";
import { jsonError } from "../http/errors";
import { createProbeRouter, noStore, smallJsonBody } from "./router";
import { ErrorBody, errors, Service, TestHelpers } from "./schemas";
import { siteOf } from "./site";
import { servicesFor, testHelpersFor } from "./test-helpers";

// Where a probe finds services: test helpers (every session starts here), collectors and the
// legacy bouncer and OpenVPN configurations. All of it comes from PROBE_CONFIG_DIR. (The
// anonymous-credentials manifest is in anoncred/routes.ts.)

const testHelpers = createRoute({
  method: "get",
  path: "/api/v1/test-helpers",
  tags: ["probe services"],
  summary: "Test helpers by kind, in the order this client should try them",
  responses: { 200: { description: "helpers", content: { "application/json": { schema: TestHelpers } } } },
});

const collectors = createRoute({
  method: "get",
  path: "/api/v1/collectors",
  tags: ["probe services"],
  summary: "Collectors (legacy)",
  responses: { 200: { description: "collectors", content: { "application/json": { schema: z.array(Service) } } } },
});

const NetTest = z.looseObject({ name: z.string().min(1).max(100), version: z.string().min(1).max(100) });
const bouncer = createRoute({
  method: "post",
  path: "/bouncer/net-tests",
  tags: ["probe services"],
  summary: "Collector and helpers per test (legacy bouncer)",
  middleware: [smallJsonBody] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: z.looseObject({ "net-tests": z.array(NetTest).min(1).max(100) }) } } },
  },
  responses: {
    200: { description: "per-test collector and helpers", content: { "application/json": { schema: z.object({ "net-tests": z.array(z.record(z.string(), z.unknown())) }) } } },
    ...errors,
  },
});

const vpnConfig = createRoute({
  method: "get",
  path: "/api/v2/ooniprobe/vpn-config/{provider}",
  tags: ["probe services"],
  summary: "OpenVPN configuration for a provider",
  request: {
    params: z.object({ provider: z.string().max(100) }),
    query: z.object({ country_code: z.string().regex(/^[A-Za-z]{2}$/).optional() }),
  },
  responses: {
    200: {
      description: "configuration and endpoints",
      content: {
        "application/json": {
          schema: z.object({
            provider: z.string(),
            config: z.object({
              ca: z.string(),
              cert: z.string().optional(),
              key: z.string().optional(),
              username: z.string().optional(),
              password: z.string().optional(),
            }),
            endpoints: z.array(z.string()),
            date_updated: z.string(),
          }),
        },
      },
    },
    404: { description: "unknown provider", content: { "application/json": { schema: ErrorBody } } },
    ...errors,
  },
});

export function discoveryRoutes() {
  const app = createProbeRouter();

  app.openapi(testHelpers, (c) => {
    // Per client (rotation) and per bridge: never cacheable.
    return c.json(testHelpersFor(c.get("services").probe.files.services.get(), siteOf(c)), 200, noStore);
  });

  app.openapi(collectors, (c) => {
    const list = servicesFor(c.get("services").probe.files.services.get().collectors, siteOf(c));
    return c.json(list, 200, { "Cache-Control": "public, max-age=3600" });
  });

  app.openapi(bouncer, (c) => {
    const { "net-tests": tests } = c.req.valid("json");
    const site = siteOf(c);
    const file = c.get("services").probe.files.services.get();
    const cols = servicesFor(file.collectors, site);
    const helpers = testHelpersFor(file, site);
    const firstOf = Object.fromEntries(Object.entries(helpers).flatMap(([k, v]) => (v[0] ? [[k, v[0].address]] : [])));
    const alternates = (helpers["web-connectivity"] ?? []).filter((s) => s.type === "https" || s.type === "cloudfront");
    return c.json(
      {
        "net-tests": tests.map((t) => ({
          collector: cols[0]?.address ?? "",
          "collector-alternate": cols.slice(1),
          "input-hashes": null,
          name: t.name,
          "test-helpers": firstOf,
          "test-helpers-alternate": { "web-connectivity": alternates },
          version: t.version,
        })),
      },
      200,
      noStore,
    );
  });

  app.openapi(vpnConfig, (c) => {
    const { provider } = c.req.valid("param");
    c.req.valid("query");
    const all = c.get("services").probe.files.vpn.get();
    const entry = Object.hasOwn(all, provider) ? all[provider] : undefined;
    if (!entry) return jsonError(c, 404, "unknown provider", { provider: provider.slice(0, 100) }) as never;
    return c.json({ provider, ...entry }, 200, noStore);
  });

  return app;
}
