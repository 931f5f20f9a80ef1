// The bridge configuration, format version 1: what an operator writes (TOML, see bridge.toml) and,
// after validation and defaults, what the Worker receives as its BRIDGE_CONFIG binding (JSON). The
// same schema checks both, so a hand-edited binding cannot bypass it. zod/mini keeps the Worker
// bundle small; this file must stay free of Node and Workers APIs (both programs compile it).
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

// Readable messages ("Too small: expected number to be >=1") instead of zod/mini's bare "Invalid input".
z.config(en());

const MiB = 1 << 20;

const int = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));
const withDefault = <T extends z.ZodMiniType>(schema: T, value: z.output<T>) =>
  z._default(schema, value as never) as z.ZodMiniDefault<T>;

/** An http(s) URL with nothing after the authority: paths are the client's, never the config's. */
const baseUrl = z.url({ protocol: /^https?$/ }).check(
  z.refine((value) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return true; // not a URL at all: the check above already says so
    }
    return (url.pathname === "/" || url.pathname === "") && !url.search && !url.hash && !url.username && !url.password;
  }, "must be scheme://host[:port] without a path, query or credentials"),
);

/** Shared secrets people type into a browser prompt or a purge script. */
const token = z.string().check(z.minLength(16), z.maxLength(256), z.regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces"));

/** `*.th.example.org` (one or more labels before it) or an exact name; lowercase, no port. */
const hostnamePattern = z
  .string()
  .check(z.regex(/^(\*\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, "a lowercase hostname, optionally starting with *."));

const helperSchema = z.strictObject({
  /** Stable name: it feeds the hash, so renaming a helper moves its clients. */
  id: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "letters, digits, . _ - (1–63 characters)")),
  url: baseUrl,
  /** Relative share of new clients; 0 drains the helper (it gets nobody, and nobody else moves). */
  weight: z.number().check(z.minimum(0), z.maximum(1_000_000)),
  /** A new helper version on a small share: informational (status page, `npm run bridge -- list`). */
  canary: withDefault(z.boolean(), false),
  /** Takes the helper out (weight treated as 0) while keeping its weight for when it comes back. */
  drained: withDefault(z.boolean(), false),
});

const checkSchema = z.strictObject({
  method: withDefault(z.enum(["GET", "POST"]), "GET"),
  path: withDefault(z.string().check(z.startsWith("/")), "/"),
  /** Sent with POST checks, e.g. "{}" as the legacy HAProxy rules did. */
  body: withDefault(z.string().check(z.maxLength(4096)), ""),
  expect_status: withDefault(int(100, 599), 200),
  /** A substring the answer must contain; "" accepts any body. */
  expect_body: withDefault(z.string().check(z.maxLength(256)), "Hello OONItarian"),
  timeout_ms: withDefault(int(100, 60_000), 5_000),
  /** Consecutive successful checks before a down helper is used again. */
  rise: withDefault(int(1, 100), 2),
  /** Consecutive failures (active checks or proxied requests) before a helper is taken out. */
  fall: withDefault(int(1, 100), 3),
});

const helpersSchema = z.strictObject({
  /** Hostnames whose every request goes to the helpers (besides POST / on any hostname). */
  hostnames: withDefault(z.array(hostnamePattern), []),
  client_prefix_v4: withDefault(int(1, 32), 24),
  client_prefix_v6: withDefault(int(1, 128), 48),
  /** Bodies are buffered for failover; oohelperd accepts at most 16 MiB. */
  max_body_bytes: withDefault(int(1, 16 * MiB), 16 * MiB),
  attempt_timeout_ms: withDefault(int(100, 120_000), 20_000),
  /** Whole-request budget across attempts; the probe gives up after 30 s. */
  budget_ms: withDefault(int(100, 300_000), 28_000),
  max_attempts: withDefault(int(1, 10), 3),
  check: withDefault(checkSchema, checkSchema.parse({})),
  pool: withDefault(z.array(helperSchema), []),
});

/** A host the probe dials on port 80 (tcp-echo): a lowercase name or an IP literal, no port. */
const legacyHost = z
  .string()
  .check(
    z.regex(
      /^(([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?|\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]+)$/,
      "a hostname or IP address without a port (the probe always dials port 80)",
    ),
  );

/** http://host[:port]: the probe sends its request line and headers unencrypted, so plain http only. */
const legacyHttpUrl = z.url({ protocol: /^http$/ }).check(
  z.refine((value) => {
    try {
      const url = new URL(value);
      return (url.pathname === "/" || url.pathname === "") && !url.search && !url.hash && !url.username && !url.password;
    } catch {
      return true;
    }
  }, "must be http://host[:port] without a path, query or credentials"),
);

// The legacy helpers of the probe's middlebox tests, advertised (type "legacy") in the test-helpers
// map and check-in of every probe that comes through this bridge. They are raw TCP servers
// (`npm run cli -- legacy-helpers serve`), never the Worker: put them on names that are not proxied.
const legacyHelpersSchema = z.strictObject({
  /** http_invalid_request_line: hosts whose port 80 echoes every byte back. */
  tcp_echo: withDefault(z.array(legacyHost).check(z.maxLength(16)), []),
  /** http_header_field_manipulation: URLs answering with the request line and headers as JSON. */
  http_return_json_headers: withDefault(z.array(legacyHttpUrl).check(z.maxLength(16)), []),
});

const routeSchema = z.strictObject({
  /** Path prefix at a segment boundary: "/api/v1/measurements" also covers "/api/v1/measurements/…". */
  prefix: z.string().check(z.regex(/^\/[\x21-\x7e]*$/, "a path starting with /")),
  /** Freshness when the origin sends no max-age/s-maxage; 0 = do not cache such answers. */
  default_ttl_s: withDefault(int(0, 31_536_000), 0),
  /** Upper bound on the origin's freshness. */
  max_ttl_s: withDefault(int(1, 31_536_000), 86_400),
  stale_while_revalidate_s: withDefault(int(0, 31_536_000), 60),
  stale_if_error_s: withDefault(int(0, 31_536_000), 86_400),
});

const cacheSchema = z.strictObject({
  /** Query parameters that never change an answer (analytics tags, cache busters): dropped from keys. */
  tracking_params: withDefault(z.array(z.string().check(z.minLength(1))), [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "fbclid",
    "gclid",
    "mc_cid",
    "mc_eid",
    "_ga",
  ]),
  /** Larger answers are streamed through without being stored. */
  max_object_bytes: withDefault(int(1, 512 * MiB), 16 * MiB),
  routes: withDefault(z.array(routeSchema), []),
});

export const bridgeConfigSchema = z
  .strictObject({
    version: z.literal(1),
    /** Names this bridge's shared state (Durable Object) and cache namespace. */
    name: withDefault(z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "lowercase letters, digits and - (1–40)")), "default"),
    origin: z.strictObject({
      url: baseUrl,
      timeout_ms: withDefault(int(100, 600_000), 50_000),
      max_body_bytes: withDefault(int(1, 500 * MiB), 50 * MiB),
    }),
    admin: withDefault(
      z.strictObject({
        /** Bearer (or Basic password) for /__bridge/status; unset = page disabled unless a secret is bound. */
        status_token: z.optional(token),
        /** Bearer for /__bridge/purge; keep it different from the status token. */
        purge_token: z.optional(token),
      }),
      {},
    ),
    helpers: withDefault(helpersSchema, helpersSchema.parse({})),
    legacy_helpers: withDefault(legacyHelpersSchema, { tcp_echo: [], http_return_json_headers: [] }),
    state: withDefault(
      z.strictObject({
        /** How often an isolate exchanges counters and helper state with the Durable Object. */
        sync_interval_ms: withDefault(int(0, 300_000), 5_000),
      }),
      { sync_interval_ms: 5_000 },
    ),
    cache: withDefault(cacheSchema, cacheSchema.parse({})),
    cors: withDefault(
      z.strictObject({
        /** GET/HEAD answers under these prefixes get Access-Control-Allow-Origin when the origin set none. */
        path_prefixes: withDefault(z.array(z.string().check(z.startsWith("/"))), ["/api/"]),
        allow_origin: withDefault(z.string().check(z.minLength(1)), "*"),
      }),
      { path_prefixes: ["/api/"], allow_origin: "*" },
    ),
  })
  .check(
    z.refine((c) => new Set(c.helpers.pool.map((h) => h.id)).size === c.helpers.pool.length, {
      message: "helper ids must be unique",
      path: ["helpers", "pool"],
    }),
    z.refine((c) => new Set(c.cache.routes.map((r) => r.prefix)).size === c.cache.routes.length, {
      message: "cache route prefixes must be unique",
      path: ["cache", "routes"],
    }),
    z.refine((c) => c.admin.status_token === undefined || c.admin.status_token !== c.admin.purge_token, {
      message: "status_token and purge_token must differ",
      path: ["admin"],
    }),
  );

export type BridgeConfig = z.output<typeof bridgeConfigSchema>;
export type BridgeConfigInput = z.input<typeof bridgeConfigSchema>;
export type HelperConfig = BridgeConfig["helpers"]["pool"][number];
export type HealthCheckConfig = BridgeConfig["helpers"]["check"];
export type CacheRouteConfig = BridgeConfig["cache"]["routes"][number];

/** One line per problem, each naming the setting: `helpers.pool.1.url: …`. */
export function describeIssues(error: z.core.$ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join(".") : "(file)"}: ${issue.message}`);
}

export class BridgeConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`bridge configuration ${source} is invalid:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "BridgeConfigError";
  }
}

/** Validates an already-decoded object (a TOML table, or the Worker's JSON binding). */
export function validateBridgeConfig(value: unknown, source: string): BridgeConfig {
  const result = bridgeConfigSchema.safeParse(value);
  if (!result.success) throw new BridgeConfigError(source, describeIssues(result.error));
  return result.data;
}
