import { request } from "node:http";
import { createInterface } from "node:readline";
import type { CommandOutput } from "../commands/types";
import type { RunEvent } from "./protocol";

/**
 * Runs a command inside the origin listening on `socket`. Resolves with the exit code, or null when
 * no origin answers there (the caller then runs the command itself).
 */
export function runThroughSocket(
  socket: string,
  command: string,
  args: string[],
  io: CommandOutput,
  signal: AbortSignal,
): Promise<number | null> {
  return new Promise((resolve, reject) => {
    let connected = false;
    const req = request({ socketPath: socket, method: "POST", path: "/run", headers: { "content-type": "application/json" }, signal }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`origin admin socket answered ${res.statusCode}`));
      }
      let exit = 1;
      createInterface({ input: res })
        .on("line", (line) => {
          const ev = JSON.parse(line) as RunEvent;
          if ("exit" in ev) exit = ev.exit;
          else if (ev.stream === "out") io.out(ev.text);
          else io.err(ev.text);
        })
        .on("close", () => resolve(exit));
    });
    req.on("socket", (s) => s.on("connect", () => (connected = true)));
    req.on("error", (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (!connected && (code === "ENOENT" || code === "ECONNREFUSED")) resolve(null);
      else reject(err);
    });
    req.end(JSON.stringify({ command, args }));
  });
}
