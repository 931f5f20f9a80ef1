import { createSocket, type Socket } from "node:dgram";

// A plain-UDP DNS responder on loopback. It stands in for every resolver anything in an interop run
// asks: the public resolvers web_connectivity v0.5 and dnscheck query, and — through a private
// /etc/resolv.conf (resolv-namespace.ts) — the system resolver of the probe and of both test helpers,
// so a name missing from /etc/hosts is answered here and never by the machine's nameserver.
//
// A questions for the run's /etc/hosts names are answered with the same address; AAAA with no
// records; other names NXDOMAIN (as the real DNS would for made-up names); other types NOTIMP.
// `failing` names fail the way a real resolver can (see DnsFailure).

/**
 * How a name fails. nxdomain: the name does not exist (rcode 3). nodata: it exists with no A/AAAA
 * (NOERROR, no answers). servfail / refused: rcode 2 / 5 for every question. slow: the right answer
 * (`address`), `delayMs` late. silent: no answer, ever.
 */
export type DnsFailure =
  | { kind: "nxdomain" | "nodata" | "servfail" | "refused" | "silent" }
  | { kind: "slow"; address: string; delayMs: number };

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

const RCODE = { noError: 0, servFail: 2, nxDomain: 3, notImp: 4, refused: 5 } as const;

/** The answer to one query, when to send it (0: now), or null: send nothing. */
export function dnsAnswer(
  query: Buffer,
  names: Record<string, string>,
  failing: Record<string, DnsFailure> = {},
): { response: Buffer | null; name: string; delayMs: number } | null {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return null;
  const { name, end } = readName(query, 12);
  const qtype = query.readUInt16BE(end);
  const question = query.subarray(12, end + 4);
  const head = Buffer.alloc(12);
  query.copy(head, 0, 0, 2); // id
  const rd = query[2]! & 0x01;
  const key = name.toLowerCase().replace(/\.$/, "");
  const failure = failing[key];
  if (failure?.kind === "silent") return { response: null, name, delayMs: 0 };
  const answers: Buffer[] = [];
  let rcode: number = RCODE.noError;
  const address = failure?.kind === "slow" ? failure.address : names[key];
  if (failure?.kind === "servfail") rcode = RCODE.servFail;
  else if (failure?.kind === "refused") rcode = RCODE.refused;
  else if (failure?.kind === "nodata") rcode = RCODE.noError;
  else if ((failure?.kind === "nxdomain" || address === undefined) && (qtype === 1 || qtype === 28)) rcode = RCODE.nxDomain;
  else if (qtype === 1 && address !== undefined) {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    rr.writeUInt16BE(1, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(4, 10);
    address.split(".").forEach((o, k) => rr.writeUInt8(Number(o), 12 + k));
    answers.push(rr);
  } else if (qtype !== 28) {
    rcode = RCODE.notImp;
  }
  head.writeUInt16BE(0x8000 | (rd << 8) | 0x0080 | rcode, 2); // QR, RD echoed, RA
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(answers.length, 6);
  return { response: Buffer.concat([head, question, ...answers]), name, delayMs: failure?.kind === "slow" ? failure.delayMs : 0 };
}

export async function startDnsResponder(
  host: string,
  port: number,
  names: Record<string, string>,
  failing: Record<string, DnsFailure> = {},
): Promise<DnsResponder> {
  const queries: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const s: Socket = createSocket("udp4");
  let closed = false;
  s.on("message", (msg, rinfo) => {
    try {
      const a = dnsAnswer(msg, names, failing);
      if (!a) return;
      queries.push(a.name);
      const response = a.response;
      if (!response) return;
      const send = () => {
        if (!closed) s.send(response, rinfo.port, rinfo.address);
      };
      if (a.delayMs <= 0) return send();
      const t = setTimeout(() => (timers.delete(t), send()), a.delayMs);
      timers.add(t);
    } catch {
      // not a query we answer
    }
  });
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.bind(port, host, () => resolve());
  });
  return {
    queries,
    close: () => {
      closed = true;
      for (const t of timers) clearTimeout(t);
      return new Promise<void>((r) => s.close(() => r()));
    },
  };
}
