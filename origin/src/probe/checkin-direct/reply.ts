import type { ServerResponse } from "node:http";

// Writes an answer as the hono app's would go out through @hono/node-server: its headers come from
// a web Headers object (lower-case names, sorted), then Content-Length, then what Node adds itself
// (Date, Connection, Keep-Alive). Same bytes but for the date, the ids and the random draws, so
// nothing downstream (the edge's relay, a probe's HTTP stack, tests) can tell which one answered.

export function reply(res: ServerResponse, status: number, json: string, headers: Record<string, string>): void {
  const body = Buffer.from(json);
  const names = Object.keys(headers).sort();
  const raw: string[] = [];
  for (const name of names) raw.push(name, headers[name]!);
  raw.push("Content-Length", String(body.length));
  res.writeHead(status, raw);
  res.end(body);
}
