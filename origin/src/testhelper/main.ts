// The web-connectivity test helper as a lean process of its own: `npm run testhelper -- serve …`
// (scripts/build-testhelper.ts bundles this file with esbuild into dist/testhelper/main.mjs, run by
// plain `node`). It imports only what a helper needs at runtime — node:http, the measurement
// steps, zod for the control request, pino, and the ASN database — never the origin's config,
// hono app, chDB or the country database, and it runs without tsx: that is what keeps its memory
// near oohelperd's (docs/testhelper.md#performance). `npm run cli -- testhelper serve` is the
// same helper inside the full CLI (it honours CONFIG_FILE; this entry reads the environment only).
import { existsSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import type { AsnResponse } from "maxmind";
import { z } from "zod";
import { LiveReader } from "../geoip/live-reader";
import { normalizeIp } from "../geoip/normalize-ip";
import { asnOf, UNKNOWN_ASN } from "../geoip/records";
import { createLogger } from "../logger";
import { startTestHelper } from "./server";

const usage = "serve [--port P] [--host H] [--doh-url URL] [--max-in-flight N] [--max-in-flight-ooniprobe N]";

const Args = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default("127.0.0.1"),
  "doh-url": z.url({ protocol: /^https?$/ }).optional(),
  "max-in-flight": z.coerce.number().int().min(1).max(100_000).optional(),
  "max-in-flight-ooniprobe": z.coerce.number().int().min(1).max(100_000).optional(),
});

// The same variables, and defaults, as origin/src/config.ts uses for these settings.
const Env = z.object({
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  GEOIP_ASN_DB: z.string().min(1).optional(),
  // Tests and benchmarks only (their targets live on 127.0.0.1): loopback is otherwise never dialled.
  OONI_EDGE_TESTHELPER_ALLOW_LOOPBACK: z.enum(["0", "1"]).default("0"),
});

function fail(message: string): never {
  process.stderr.write(`testhelper: ${message}\nusage: testhelper ${usage}\n`);
  process.exit(2);
}

function parse(): { args: z.output<typeof Args>; env: z.output<typeof Env> } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      allowPositionals: true,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        "doh-url": { type: "string" },
        "max-in-flight": { type: "string" },
        "max-in-flight-ooniprobe": { type: "string" },
      },
    });
  } catch (err) {
    fail((err as Error).message);
  }
  if (parsed.positionals[0] !== "serve" || parsed.positionals.length !== 1) fail("expected the command `serve`");
  const args = Args.safeParse(parsed.values);
  if (!args.success) fail(`--${String(args.error.issues[0]!.path[0])}: ${args.error.issues[0]!.message}`);
  const env = Env.safeParse(process.env);
  if (!env.success) fail(`${String(env.error.issues[0]!.path[0])}: ${env.error.issues[0]!.message}`);
  return { args: args.data, env: env.data };
}

const { args, env } = parse();
const log = createLogger(env.LOG_LEVEL, { service: "testhelper" });

// ip_info's ASN: the configured database, hot-reloaded like the origin's. Without GEOIP_ASN_DB the
// repository's fixture is used when present (as `npm start` does); otherwise ASNs are 0 (unknown),
// what oohelperd answers for an address its database does not know.
const asnPath = env.GEOIP_ASN_DB ?? path.resolve("origin/fixtures/geoip/asn.mmdb");
let asnDb: LiveReader<AsnResponse> | null = null;
if (env.GEOIP_ASN_DB !== undefined || existsSync(asnPath)) {
  asnDb = await LiveReader.open<AsnResponse>(asnPath, "asn", (msg, extra) => log.info(extra ?? {}, msg));
  asnDb.watch();
} else {
  log.warn({ path: asnPath }, "testhelper: no ASN database, ip_info ASNs will be 0");
}
const lookupAsn = (ip: string): number => {
  const addr = normalizeIp(ip);
  if (asnDb === null || addr === null) return UNKNOWN_ASN;
  try {
    return asnOf(asnDb.current.get(addr));
  } catch {
    return UNKNOWN_ASN; // only a malformed database throws; unknown is the honest answer
  }
};

const helper = await startTestHelper({
  host: args.host,
  port: args.port,
  dohUrl: args["doh-url"],
  lookupAsn,
  logger: log,
  allowLoopback: env.OONI_EDGE_TESTHELPER_ALLOW_LOOPBACK === "1",
  maxInFlight: args["max-in-flight"],
  maxInFlightOoniprobe: args["max-in-flight-ooniprobe"],
});
process.stdout.write(`${JSON.stringify({ event: "listening", url: helper.url, port: helper.port })}\n`);
const stop = () =>
  void helper.close().finally(() => {
    asnDb?.close();
    process.exit(0);
  });
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
