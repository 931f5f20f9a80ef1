import { createSocket, type Socket } from "node:dgram";

// A STUN (RFC 5389) binding responder on loopback UDP. miniooni learns its public address from
// stun.ekiga.net:3478 / stun.l.google.com:19302 before anything else; offline, those names map
// here and the answer reports `reportAddress` — an address the probe's GeoIP databases place in a
// real network, never contacted — so the probe geolocates and carries on. stunreachability
// measures the same responder.

const MAGIC = 0x2112a442;

export interface StunResponder {
  ports: number[];
  requests: number;
  close(): Promise<void>;
}

function answer(req: Buffer, reportAddress: string, reportPort: number): Buffer | null {
  if (req.length < 20 || req.readUInt16BE(0) !== 0x0001 || req.readUInt32BE(4) !== MAGIC) return null;
  const txid = req.subarray(8, 20);
  const ip = reportAddress.split(".").map(Number);
  // XOR-MAPPED-ADDRESS (0x0020): family IPv4, port and address XORed with the magic cookie.
  const attr = Buffer.alloc(12);
  attr.writeUInt16BE(0x0020, 0);
  attr.writeUInt16BE(8, 2);
  attr.writeUInt8(0, 4);
  attr.writeUInt8(0x01, 5);
  attr.writeUInt16BE(reportPort ^ (MAGIC >>> 16), 6);
  attr.writeUInt32BE((((ip[0]! << 24) | (ip[1]! << 16) | (ip[2]! << 8) | ip[3]!) ^ MAGIC) >>> 0, 8);
  const head = Buffer.alloc(20);
  head.writeUInt16BE(0x0101, 0); // binding success response
  head.writeUInt16BE(attr.length, 2);
  head.writeUInt32BE(MAGIC, 4);
  txid.copy(head, 8);
  return Buffer.concat([head, attr]);
}

export async function startStunResponder(host: string, ports: number[], reportAddress: string): Promise<StunResponder> {
  const sockets: Socket[] = [];
  const state = { requests: 0 };
  for (const port of ports) {
    const s = createSocket("udp4");
    s.on("message", (msg, rinfo) => {
      const res = answer(msg, reportAddress, rinfo.port);
      if (!res) return;
      state.requests++;
      s.send(res, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.bind(port, host, () => resolve());
    });
    sockets.push(s);
  }
  return {
    ports,
    get requests() {
      return state.requests;
    },
    async close() {
      await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
