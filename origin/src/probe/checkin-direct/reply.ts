import type { ServerResponse } from "node:http";

// Writes an answer as the hono app's would go out through @hono/node-server: its headers come from
// a web Headers object (lower-case names, sorted), then Content-Length, then what Node adds itself
// (Date, Connection, Keep-Alive). Same bytes but for the date, the ids and the random draws, so
// nothing downstream (the edge's relay, a probe's HTTP stack, tests) can tell which one answered.

export function reply(res: ServerResponse, status: number, json: string, headers: Record<string, string>): void {
  const names = Object.keys(headers).sort();
  const raw: string[] = [];
  for (const name of names) raw.push(name, headers[name]!);
  raw.push("Content-Length", String(Buffer.byteLength(json)));
  res.writeHead(status, raw);
  // A string, not a Buffer: Node sends it with the head in one write, encoded straight into the
  // socket's buffer, instead of allocating a 10 KB Buffer per answer for the collector to sweep.
  res.end(json);
}
