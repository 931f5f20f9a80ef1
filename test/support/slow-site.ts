import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

// A website on loopback for test helpers to measure: it answers each GET after a random delay, so a
// control request takes as long as a real one over a slow path and many are in flight at once.

export interface SlowSite {
  url: string;
  /** "127.0.0.1:port", what a probe puts in tcp_connect. */
  endpoint: string;
  close(): Promise<void>;
}

const PAGE = `<!DOCTYPE html><html><head><title>A measured site</title></head><body>${"<p>censorship is measured here</p>".repeat(60)}</body></html>`;

export async function startSlowSite(minDelayMs: number, maxDelayMs: number): Promise<SlowSite> {
  const server: Server = createServer((req, res) => {
    const delay = minDelayMs + Math.random() * (maxDelayMs - minDelayMs);
    const timer = setTimeout(() => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": Buffer.byteLength(PAGE) });
      res.end(PAGE);
    }, delay);
    req.once("close", () => clearTimeout(timer));
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    endpoint: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
