import { createServer } from "node:net";

/**
 * A loopback port that is free right now. Tests restart processes on the same port (what a probe
 * retries against), so they choose ports themselves instead of letting each server pick one.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
