import { parseArgs } from "node:util";
import { z } from "zod";
import { loadConfig } from "../config";
import { GeoIP } from "../geoip/geoip";
import { createLogger } from "../logger";
import { startTestHelper } from "../testhelper";
import type { Command } from "./types";

// `testhelper serve`: a web-connectivity test helper (oohelperd protocol) in its own process. It
// needs no database, so it runs beside `npm start` or on its own hosts behind the bridges.
const Args = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default("127.0.0.1"),
  "doh-url": z.url({ protocol: /^https?$/ }).optional(),
});

export const testhelperCommand: Command = {
  summary: "run a web-connectivity test helper: testhelper serve [--port P] [--host H] [--doh-url URL]",
  usage: "testhelper serve [--port P] [--host H] [--doh-url URL]",
  async run(argv) {
    const { positionals, values } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { port: { type: "string" }, host: { type: "string" }, "doh-url": { type: "string" } },
    });
    if (positionals[0] !== "serve") {
      process.stderr.write("usage: npm run cli -- testhelper serve [--port P] [--host H] [--doh-url URL]\n");
      return 2;
    }
    const parsed = Args.safeParse(values);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      process.stderr.write(`error: --${String(issue.path[0])}: ${issue.message}\n`);
      return 2;
    }
    const config = loadConfig();
    const log = createLogger(config.logLevel, { service: "testhelper" });
    const geoip = await GeoIP.open({ ...config.geoip, log: (msg, extra) => log.info(extra ?? {}, msg) });
    const helper = await startTestHelper({
      host: parsed.data.host,
      port: parsed.data.port,
      dohUrl: parsed.data["doh-url"],
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
