import { createSocket, type Socket } from "node:dgram";

// A plain-UDP DNS responder on loopback, standing in for the public resolvers web_connectivity
// v0.5 and dnscheck query: A questions for the names the run put in /etc/hosts are answered with
// the same address, other names NXDOMAIN (as the real DNS would for made-up names), AAAA with no
// records, anything else NOTIMP.

export interface DnsResponder {
  queries: string[];
  close(): Promise<void>;
}

function readName(buf: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let i = offset;
  while (i < buf.length && buf[i] !== 0) {
    const len = buf[i]!;
    if (len > 63) throw new Error("compressed names are not expected in questions");
    labels.push(buf.subarray(i + 1, i + 1 + len).toString("latin1"));
    i += 1 + len;
  }
  return { name: labels.join("."), end: i + 1 };
}

export function dnsAnswer(query: Buffer, names: Record<string, string>): { response: Buffer; name: string } | null {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return null;
  const { name, end } = readName(query, 12);
  const qtype = query.readUInt16BE(end);
  const question = query.subarray(12, end + 4);
  const head = Buffer.alloc(12);
  query.copy(head, 0, 0, 2); // id
  const rd = query[2]! & 0x01;
  const answers: Buffer[] = [];
  let rcode = 0;
  const address = names[name.toLowerCase().replace(/\.$/, "")];
  if (address === undefined && (qtype === 1 || qtype === 28)) {
    rcode = 3;
  } else if (qtype === 1 && address !== undefined) {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    rr.writeUInt16BE(1, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(4, 10);
    address.split(".").forEach((o, k) => rr.writeUInt8(Number(o), 12 + k));
    answers.push(rr);
  } else if (qtype !== 28) {
    rcode = 4;
  }
  head.writeUInt16BE(0x8000 | (rd << 8) | 0x0080 | rcode, 2); // QR, RD echoed, RA
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(answers.length, 6);
  return { response: Buffer.concat([head, question, ...answers]), name };
}

export async function startDnsResponder(host: string, port: number, names: Record<string, string>): Promise<DnsResponder> {
  const queries: string[] = [];
  const s: Socket = createSocket("udp4");
  s.on("message", (msg, rinfo) => {
    try {
      const a = dnsAnswer(msg, names);
      if (!a) return;
      queries.push(a.name);
      s.send(a.response, rinfo.port, rinfo.address);
    } catch {
      // not a query we answer
    }
  });
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.bind(port, host, () => resolve());
  });
  return { queries, close: () => new Promise<void>((r) => s.close(() => r())) };
}
