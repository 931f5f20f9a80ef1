// Just enough of the DNS wire format (RFC 1035) for A/AAAA queries over DoH (RFC 8484).
import { FAILURE, OoniFailure } from "./failures";

export const QTYPE_A = 1;
export const QTYPE_AAAA = 28;
const CLASS_IN = 1;

/** A query with ID 0 (RFC 8484 §4.1: cache friendly) and recursion desired. */
export function encodeQuery(domain: string, qtype: number): Uint8Array {
  const name = domain.endsWith(".") ? domain.slice(0, -1) : domain;
  const labels = name === "" ? [] : name.split(".");
  const encodedLabels = labels.map((label) => Buffer.from(label, "ascii"));
  for (const label of encodedLabels) {
    if (label.length === 0 || label.length > 63) throw new OoniFailure(FAILURE.dnsNxdomain, "resolve");
  }
  const nameLength = encodedLabels.reduce((n, l) => n + 1 + l.length, 1);
  if (nameLength > 255) throw new OoniFailure(FAILURE.dnsNxdomain, "resolve");
  const out = Buffer.alloc(12 + nameLength + 4);
  out.writeUInt16BE(0, 0); // id
  out.writeUInt16BE(0x0100, 2); // RD
  out.writeUInt16BE(1, 4); // QDCOUNT
  let off = 12;
  for (const label of encodedLabels) {
    out[off++] = label.length;
    label.copy(out, off);
    off += label.length;
  }
  out[off++] = 0;
  out.writeUInt16BE(qtype, off);
  out.writeUInt16BE(CLASS_IN, off + 2);
  return out;
}

const misbehaving = () => new OoniFailure(FAILURE.dnsServerMisbehaving, "resolve");

/** Offset just past a (possibly compressed) name; we never need the name itself. */
function skipName(msg: Buffer, start: number): number {
  let off = start;
  for (;;) {
    const len = msg[off];
    if (len === undefined) throw misbehaving();
    if ((len & 0xc0) === 0xc0) {
      if (off + 2 > msg.length) throw misbehaving();
      return off + 2;
    }
    if ((len & 0xc0) !== 0) throw misbehaving();
    off += 1 + len;
    if (len === 0) return off;
  }
}

/** RFC 5952 text form, which is what Go and Node print. */
export function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/**
 * The addresses of type `qtype` in a response. Throws the OONI failure for a bad RCODE or a malformed
 * message; returns [] when the answer section holds no such records (CNAMEs alone, NODATA).
 */
export function decodeAnswer(message: Uint8Array, qtype: number): string[] {
  const msg = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  if (msg.length < 12) throw misbehaving();
  const flags = msg.readUInt16BE(2);
  if ((flags & 0x8000) === 0) throw misbehaving(); // not a response
  const rcode = flags & 0x000f;
  if (rcode === 3) throw new OoniFailure(FAILURE.dnsNxdomain, "resolve");
  if (rcode === 2) throw new OoniFailure(FAILURE.dnsServfail, "resolve");
  if (rcode === 5) throw new OoniFailure(FAILURE.dnsRefused, "resolve");
  if (rcode !== 0) throw misbehaving();
  const qdcount = msg.readUInt16BE(4);
  const ancount = msg.readUInt16BE(6);
  let off = 12;
  for (let i = 0; i < qdcount; i++) off = skipName(msg, off) + 4;
  const addrs: string[] = [];
  for (let i = 0; i < ancount; i++) {
    off = skipName(msg, off);
    if (off + 10 > msg.length) throw misbehaving();
    const type = msg.readUInt16BE(off);
    const klass = msg.readUInt16BE(off + 2);
    const rdlength = msg.readUInt16BE(off + 8);
    const rdata = off + 10;
    if (rdata + rdlength > msg.length) throw misbehaving();
    if (klass === CLASS_IN && type === qtype) {
      if (type === QTYPE_A && rdlength === 4) addrs.push(Array.from(msg.subarray(rdata, rdata + 4)).join("."));
      else if (type === QTYPE_AAAA && rdlength === 16) addrs.push(formatIPv6(msg.subarray(rdata, rdata + 16)));
      else throw misbehaving();
    }
    off = rdata + rdlength;
  }
  return addrs;
}
