import { existsSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./config";
import { createLogger } from "./logger";

// `npm run cli -- <command> [options]`. Each command is a small function; commands that need the
// embedded database must not run while `npm start` owns it (chDB locks its directory), so those say
// so clearly when the lock is taken.

import { adminSocketPath } from "./admin/protocol";
import { runThroughSocket } from "./admin/client";
import { commandModules } from "./commands/index";
import type { Command, CommandOutput, ServicesCommand } from "./commands/types";

const commands: Record<string, Command> = {
  serve: {
    summary: "run the origin HTTP server (probe services, measurements, Explorer API)",
    usage: "serve [--port N] [--host H]",
    async run(args) {
      const { values } = parseArgs({ args, options: { port: { type: "string" }, host: { type: "string" } } });
      const config = loadConfig({
        ...process.env,
        ...(values.port !== undefined ? { ORIGIN_PORT: values.port } : {}),
        ...(values.host !== undefined ? { ORIGIN_HOST: values.host } : {}),
      });
      const log = createLogger(config.logLevel);
      // Loaded after the configuration is known good: a bad setting fails fast, before chDB loads.
      const { startOrigin } = await import("./server");
      const origin = await startOrigin(config, log);
      // A line for scripts and tests that start the origin on port 0.
      process.stdout.write(`${JSON.stringify({ event: "listening", url: origin.url, port: origin.port })}\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info({ signal }, "signal received");
          origin.close().then(resolve, (err) => {
            log.error({ err }, "shutdown failed");
            process.exitCode = 1;
            resolve();
          });
        };
        process.once("SIGTERM", () => stop("SIGTERM"));
        process.once("SIGINT", () => stop("SIGINT"));
      });
    },
  },
  config: {
    summary: "validate the configuration and print it (secrets hidden)",
    usage: "config",
    async run() {
      const config = loadConfig();
      const hidden = JSON.parse(
        JSON.stringify(config, (k, v) => (/secret|password|hashing_?key|admin_?emails/i.test(k) && v ? "(set)" : v)),
      ) as object;
      process.stdout.write(`${JSON.stringify(hidden, null, 2)}\n`);
    },
  },
};

/**
 * A command that needs the database runs inside the origin when one is running on this DATA_DIR
 * (through its admin socket), otherwise in this process with its own services.
 */
async function runServicesCommand(name: string, command: ServicesCommand, args: string[]): Promise<number> {
  const config = loadConfig();
  const io: CommandOutput = {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    interactive: Boolean(process.stdout.isTTY),
  };
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  // The origin may run in another directory: paths the user typed are resolved here, where they
  // typed them, before the command is handed over.
  const absArgs = args.map((a) => (!a.startsWith("-") && !path.isAbsolute(a) && existsSync(a) ? path.resolve(a) : a));
  const remote = await runThroughSocket(adminSocketPath(config.dataDir), name, absArgs, io, abort.signal);
  if (remote !== null) return remote;
  // Quieter than the server: the command's own output is what the user reads.
  const log = createLogger(config.logLevel === "info" ? "warn" : config.logLevel);
  const { openServices, closeServices } = await import("./services");
  // No background work (fastpath consumer, timers) in a one-off command: only the origin runs those.
  const services = await openServices(config, log, { background: false });
  try {
    return (await command.runWith(services, args, io, abort.signal)) ?? 0;
  } finally {
    await closeServices(services);
  }
}

for (const [name, lazy] of Object.entries(commandModules)) {
  commands[name] = {
    summary: lazy.summary,
    usage: lazy.usage,
    run: async (args) => {
      const command = await lazy.load();
      return "needsServices" in command ? runServicesCommand(name, command, args) : command.run(args);
    },
  };
}

function help(): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: npm run cli -- <command> [options]\n\ncommands:\n${lines.join("\n")}\n\n` +
    "Settings come from environment variables; see docs/configuration.md.\n";
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(help());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`unknown command: ${name}\n\n${help()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`usage: npm run cli -- ${command.usage}\n\n${command.summary}\n`);
    return 0;
  }
  try {
    return (await command.run(rest)) ?? 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 78; // EX_CONFIG
    }
    const msg = (err as Error).message ?? String(err);
    if (/Cannot lock file|Another server instance|Failed to create connection for path/i.test(msg)) {
      process.stderr.write(
        "error: the embedded ClickHouse data directory is locked by another process that does not serve the\n" +
          "admin socket (DATA_DIR/admin.sock). Stop that process and run the command again, or set\n" +
          "CLICKHOUSE_URL to a ClickHouse server.\n",
      );
      return 75; // EX_TEMPFAIL
    }
    process.stderr.write(`error: ${msg}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("/origin/src/cli.ts")) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`fatal: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
