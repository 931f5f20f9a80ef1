import { z } from "zod";
import { loadConfig } from "../config";
import { GeoIP } from "../geoip/geoip";
import { createLogger } from "../logger";
import { startTestHelper } from "../testhelper";
import { parseServeArgs } from "./serve-args";
import type { Command } from "./types";

// `testhelper serve`: a web-connectivity test helper (oohelperd protocol) in its own process. It
// needs no database, so it runs beside `npm start` or on its own hosts behind the bridges.
const Args = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default("127.0.0.1"),
  "doh-url": z.url({ protocol: /^https?$/ }).optional(),
});

const usage = "testhelper serve [--port P] [--host H] [--doh-url URL]";

export const testhelperCommand: Command = {
  summary: `run a web-connectivity test helper: ${usage}`,
  usage,
  async run(argv) {
    const args = parseServeArgs(argv, usage, { port: { type: "string" }, host: { type: "string" }, "doh-url": { type: "string" } }, Args);
    if (args === null) return 2;
    const config = loadConfig();
    const log = createLogger(config.logLevel, { service: "testhelper" });
    const geoip = await GeoIP.open({ ...config.geoip, log: (msg, extra) => log.info(extra ?? {}, msg) });
    const helper = await startTestHelper({
      host: args.host,
      port: args.port,
      dohUrl: args["doh-url"],
      lookupAsn: (ip) => geoip.lookup(ip).asn,
      logger: log,
    });
    process.stdout.write(`${JSON.stringify({ event: "listening", url: helper.url, port: helper.port })}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => void helper.close().finally(resolve);
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    });
    geoip.close();
  },
};
