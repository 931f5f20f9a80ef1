// A tiny DoH (RFC 8484, wire format over POST) server on loopback with a fixed zone.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type ZoneEntry = { a?: string[]; aaaa?: string[] } | { rcode: number };

function readQuestion(msg: Buffer): { name: string; qtype: number; end: number } {
  const labels: string[] = [];
  let off = 12;
  for (;;) {
    const len = msg[off] ?? 0;
    off++;
    if (len === 0) break;
    labels.push(msg.subarray(off, off + len).toString("ascii"));
    off += len;
  }
  return { name: labels.join(".").toLowerCase(), qtype: msg.readUInt16BE(off), end: off + 4 };
}

function ipv6Bytes(addr: string): Buffer {
  const [head = "", tail = ""] = addr.split("::");
  const h = head === "" ? [] : head.split(":");
  const t = tail === "" ? [] : tail.split(":");
  const groups = addr.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export function answer(query: Buffer, zone: Record<string, ZoneEntry>): Buffer {
  const q = readQuestion(query);
  const entry = zone[q.name] ?? { rcode: 3 };
  const rcode = "rcode" in entry ? entry.rcode : 0;
  const records: Buffer[] = [];
  if (!("rcode" in entry)) {
    const addrs = q.qtype === 1 ? (entry.a ?? []) : q.qtype === 28 ? (entry.aaaa ?? []) : [];
    // A CNAME first, to exercise skipping records of other types and compressed names.
    if (addrs.length > 0) {
      const cname = Buffer.alloc(12 + 4);
      cname.writeUInt16BE(0xc00c, 0);
      cname.writeUInt16BE(5, 2);
      cname.writeUInt16BE(1, 4);
      cname.writeUInt32BE(60, 6);
      cname.writeUInt16BE(4, 10);
      Buffer.from([0x01, 0x78, 0xc0, 0x0c]).copy(cname, 12); // "x" + pointer to the question name
      records.push(cname);
    }
    for (const addr of addrs) {
      const rdata = q.qtype === 1 ? Buffer.from(addr.split(".").map(Number)) : ipv6Bytes(addr);
      const rr = Buffer.alloc(12 + rdata.length);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(q.qtype, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(rdata.length, 10);
      rdata.copy(rr, 12);
      records.push(rr);
    }
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8180 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  return Buffer.concat([header, query.subarray(12, q.end), ...records]);
}

export async function startDohServer(zone: Record<string, ZoneEntry>): Promise<{ url: string; queries: string[]; close(): Promise<void> }> {
  const queries: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const query = Buffer.concat(chunks);
      if (req.method !== "POST" || req.headers["content-type"] !== "application/dns-message" || query.length < 12) {
        res.writeHead(400).end();
        return;
      }
      const q = readQuestion(query);
      queries.push(`${q.name}/${q.qtype}`);
      res.writeHead(200, { "content-type": "application/dns-message" }).end(answer(query, zone));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/dns-query`,
    queries,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
