import { chmod, unlink } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import type { Logger } from "../logger";
import type { Services } from "../services";
import { resolveServicesCommand } from "./resolve";
import { adminSocketPath, RunRequest, type RunEvent } from "./protocol";

async function socketIsLive(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(file);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Serves ServicesCommands to the local CLI while the origin runs. */
export async function startAdminSocket(services: Services, log: Logger): Promise<{ close(): Promise<void> }> {
  const file = adminSocketPath(services.config.dataDir);
  if (await socketIsLive(file)) throw new Error(`another origin already serves ${file}`);
  await unlink(file).catch(() => {}); // stale socket from a crash

  const server: Server = createServer((req, res) => {
    if (req.method !== "POST" || req.url !== "/run") {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not found" }));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > 1 << 20) req.destroy();
      else chunks.push(c);
    });
    req.on("end", () => {
      let body: RunRequest;
      try {
        body = RunRequest.parse(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: "bad request" }));
        return;
      }
      const abort = new AbortController();
      res.on("close", () => abort.abort());
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      const send = (ev: RunEvent) => {
        if (!res.writableEnded) res.write(`${JSON.stringify(ev)}\n`);
      };
      void (async () => {
        let code = 0;
        try {
          const command = await resolveServicesCommand(body.command);
          if (!command) {
            send({ stream: "err", text: `unknown command: ${body.command}\n` });
            code = 2;
          } else {
            log.info({ command: body.command, args: body.args }, "admin command");
            code =
              (await command.runWith(
                services,
                body.args,
                { out: (text) => send({ stream: "out", text }), err: (text) => send({ stream: "err", text }), interactive: false },
                abort.signal,
              )) ?? 0;
          }
        } catch (err) {
          send({ stream: "err", text: `error: ${(err as Error).message}\n` });
          code = 1;
        }
        send({ exit: code });
        res.end();
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(file, () => resolve());
  });
  await chmod(file, 0o600);
  log.info({ socket: file }, "admin socket listening");
  return {
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await unlink(file).catch(() => {});
    },
  };
}
