import { z } from "zod";
import { startJsonHeaders, startTcpEcho, type LegacyServer } from "../legacy-helpers";
import { parseServeArgs } from "./serve-args";
import type { Command } from "./types";

// `legacy-helpers serve`: the tcp-echo and http-return-json-headers helpers (the probe's
// http_invalid_request_line and http_header_field_manipulation) in their own process. Raw TCP, no
// database. The probe dials tcp-echo on port 80 only, so production binds :80 (the systemd unit
// grants CAP_NET_BIND_SERVICE); the JSON-headers helper is advertised as a URL and may use any port.
const listenAddr = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, "HOST:PORT")
  .transform((s) => {
    const i = s.lastIndexOf(":");
    return { host: s.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(s.slice(i + 1)) };
  })
  .refine((a) => a.port <= 65535, "port out of range");
const Args = z.object({
  "tcp-echo": listenAddr.optional(),
  "json-headers": listenAddr.optional(),
});
const usage = "legacy-helpers serve [--tcp-echo HOST:PORT] [--json-headers HOST:PORT]";

export const legacyHelpersCommand: Command = {
  summary: `run the legacy test helpers (tcp-echo, http-return-json-headers): ${usage}`,
  usage,
  async run(argv) {
    const args = parseServeArgs(argv, usage, { "tcp-echo": { type: "string" }, "json-headers": { type: "string" } }, Args);
    if (args === null) return 2;
    const echoAt = args["tcp-echo"] ?? { host: "0.0.0.0", port: 80 };
    const jsonAt = args["json-headers"] ?? { host: "0.0.0.0", port: 8080 };
    const running: LegacyServer[] = [];
    try {
      running.push(await startTcpEcho(echoAt));
      running.push(await startJsonHeaders(jsonAt));
    } catch (err) {
      await Promise.all(running.map((r) => r.close()));
      process.stderr.write(`error: cannot listen: ${(err as Error).message}\n`);
      return 1;
    }
    process.stdout.write(`${JSON.stringify({ event: "listening", tcp_echo: running[0]!.url, json_headers: running[1]!.url })}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => void Promise.all(running.map((r) => r.close())).finally(resolve);
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    });
  },
};
