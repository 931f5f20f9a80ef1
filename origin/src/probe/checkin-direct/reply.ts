import type { ServerResponse } from "node:http";

// Writes an answer as the hono app's would go out through @hono/node-server: its headers come from
// a web Headers object (lower-case names, sorted), then Content-Length, then what Node adds itself
// (Date, Connection, Keep-Alive). Same bytes but for the date, the ids and the random draws, so
// nothing downstream (the edge's relay, a probe's HTTP stack, tests) can tell which one answered.

export function reply(res: ServerResponse, status: number, json: string | readonly string[], headers: Record<string, string>): void {
  const names = Object.keys(headers).sort();
  const raw: string[] = [];
  for (const name of names) raw.push(name, headers[name]!);
  const chunks = typeof json === "string" ? [json] : json;
  let length = 0;
  for (const chunk of chunks) length += Buffer.byteLength(chunk);
  raw.push("Content-Length", String(length));
  res.writeHead(status, raw);
  // Strings, not Buffers, and corked: Node sends the head and every piece in one writev, each
  // encoded straight into the socket's buffer (no 10 KB Buffer per answer, no joined copy).
  res.cork();
  for (let i = 0; i < chunks.length - 1; i++) res.write(chunks[i]);
  res.end(chunks[chunks.length - 1]);
  res.uncork();
}
