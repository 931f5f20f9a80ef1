import net from "node:net";
import { listen, type LegacyServer, trackSockets } from "./listen";

// The `tcp-echo` helper of http_invalid_request_line (ooni/spec ts-007). The probe connects to port
// 80 of the advertised host, writes one malformed request line and reads for 5 s; any byte that
// comes back different from what it sent is "tampering". So: send back exactly what arrives, and
// never close first — the probe ends each exchange with its own read deadline.

export interface TcpEchoOptions {
  host?: string;
  /** The probe always dials port 80; other ports are for tests and unprivileged local runs. */
  port: number;
  /** A connection is dropped after this long without a byte (the probe reads for 5 s). */
  idleTimeoutMs?: number;
  /** And after this long in any case, so a client cannot hold a socket forever. */
  maxLifetimeMs?: number;
  /** Bytes echoed per connection before it is closed (the probe sends at most ~1 KiB). */
  maxBytes?: number;
  maxConnections?: number;
}

export async function startTcpEcho(opts: TcpEchoOptions): Promise<LegacyServer> {
  const idle = opts.idleTimeoutMs ?? 15_000;
  const lifetime = opts.maxLifetimeMs ?? 30_000;
  const maxBytes = opts.maxBytes ?? 64 * 1024;
  const server = net.createServer({ noDelay: true }, (socket) => {
    let seen = 0;
    socket.setTimeout(idle, () => socket.destroy());
    const hardStop = setTimeout(() => socket.destroy(), lifetime);
    hardStop.unref();
    socket.on("data", (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) {
        socket.destroy();
        return;
      }
      socket.write(chunk);
    });
    // The client half-closed: it has nothing more to send, and everything it sent is echoed.
    socket.on("end", () => socket.end());
    socket.on("error", () => socket.destroy());
    socket.on("close", () => clearTimeout(hardStop));
  });
  server.maxConnections = opts.maxConnections ?? 2_000;
  trackSockets(server);
  return listen(server, opts.host ?? "127.0.0.1", opts.port, "tcp");
}
