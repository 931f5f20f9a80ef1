import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { jsonError } from "../http/errors";
import { createProbeRouter, noStore, smallJsonBody } from "./router";
import { ErrorBody, errors } from "./schemas";
import { TokenError } from "./tokens";

// Probe registration and login (JWTs, see tokens.ts) and the two resources that need a probe
// token: Tor targets and the Psiphon configuration, served from PROBE_CONFIG_DIR.

const RegisterRequest = z
  .looseObject({
    password: z.string().min(1).max(1024),
    platform: z.string().max(100).optional(),
    probe_asn: z.string().max(20).optional(),
    probe_cc: z.string().max(10).optional(),
    software_name: z.string().max(100).optional(),
    software_version: z.string().max(100).optional(),
    supported_tests: z.array(z.string().max(100)).max(200).optional(),
  })
  .openapi("RegisterRequest");

const register = createRoute({
  method: "post",
  path: "/api/v1/register",
  tags: ["probe services"],
  summary: "Register a probe: returns a long-lived client_id",
  middleware: [smallJsonBody] as const,
  request: { body: { required: true, content: { "application/json": { schema: RegisterRequest } } } },
  responses: {
    200: { description: "registered", content: { "application/json": { schema: z.object({ client_id: z.string() }) } } },
    ...errors,
  },
});

const login = createRoute({
  method: "post",
  path: "/api/v1/login",
  tags: ["probe services"],
  summary: "Exchange a client_id for a 7-day probe token",
  middleware: [smallJsonBody] as const,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.looseObject({ username: z.string().max(4096).nullish(), password: z.string().max(1024).nullish() }),
        },
      },
    },
  },
  responses: {
    200: {
      description: "token and its expiry (RFC 3339, UTC)",
      content: { "application/json": { schema: z.object({ token: z.string(), expire: z.string() }) } },
    },
    401: { description: "missing or invalid credentials", content: { "application/json": { schema: ErrorBody } } },
    ...errors,
  },
});

const bearer = { 401: { description: "no valid probe token", content: { "application/json": { schema: ErrorBody } } } } as const;

const torTargets = createRoute({
  method: "get",
  path: "/api/v1/test-list/tor-targets",
  tags: ["probe services"],
  summary: "Tor bridges and directory authorities to test (probe token required)",
  security: [{ probeToken: [] }],
  request: { query: z.object({ country_code: z.string().regex(/^[A-Za-z]{2}$/).optional() }) },
  responses: {
    200: {
      description: "targets by id",
      content: {
        "application/json": {
          schema: z.record(
            z.string(),
            z.looseObject({
              address: z.string(),
              name: z.string(),
              params: z.record(z.string(), z.array(z.string())).nullable().optional(),
              protocol: z.string(),
              source: z.string().optional(),
            }),
          ),
        },
      },
    },
    ...bearer,
    ...errors,
  },
});

const psiphon = createRoute({
  method: "get",
  path: "/api/v1/test-list/psiphon-config",
  tags: ["probe services"],
  summary: "Psiphon configuration (opaque; probe token required)",
  security: [{ probeToken: [] }],
  responses: {
    200: { description: "the configured Psiphon document", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
    ...bearer,
  },
});

async function requireProbeToken(c: Context<AppEnv>): Promise<Response | null> {
  try {
    await c.get("services").probe.tokens.verifyBearer(c.req.header("authorization"));
    return null;
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    c.header("WWW-Authenticate", 'Bearer realm="probe services"');
    return jsonError(c, 401, err.message);
  }
}

export function probeAuthRoutes() {
  const app = createProbeRouter();
  app.openAPIRegistry.registerComponent("securitySchemes", "probeToken", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "the token from POST /api/v1/login",
  });

  app.openapi(register, async (c) => {
    c.req.valid("json");
    const clientId = await c.get("services").probe.tokens.register();
    return c.json({ client_id: clientId }, 200, noStore);
  });

  app.openapi(login, async (c) => {
    const { username, password } = c.req.valid("json");
    if (!username || password === undefined || password === null) return jsonError(c, 401, "Missing credentials") as never;
    try {
      const { token, expire } = await c.get("services").probe.tokens.login(username);
      return c.json({ token, expire }, 200, noStore);
    } catch (err) {
      if (err instanceof TokenError) return jsonError(c, 401, err.message) as never;
      throw err;
    }
  });

  app.openapi(torTargets, async (c) => {
    const denied = await requireProbeToken(c);
    if (denied) return denied as never;
    c.req.valid("query"); // country_code is accepted for compatibility; the list is the same everywhere
    return c.json(c.get("services").probe.files.torTargets.get(), 200, noStore);
  });

  app.openapi(psiphon, async (c) => {
    const denied = await requireProbeToken(c);
    if (denied) return denied as never;
    return c.json(c.get("services").probe.files.psiphon.get(), 200, noStore);
  });

  return app;
}
