import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { ipFamily } from "./bogon";
import { verifyLikeGo } from "./cert-verify";
import { abortReason, deadline } from "./deadline";
import { classifyGeneric, classifyTlsError, tcpMapFailure } from "./failures";
import type { TlsTrust } from "./options";

export interface TcpResult {
  status: boolean;
  failure: string | null;
}

export interface TlsResult {
  server_name: string;
  status: boolean;
  failure: string | null;
}

export interface TcpTlsConfig {
  address: string;
  port: number;
  /** Handshake after connecting, with SNI = `serverName` (no SNI when it is an IP literal). */
  tls: boolean;
  serverName: string;
  trust: TlsTrust;
  /** One budget for connect + handshake, as in oohelperd. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Settles on the first of `ok` / "error" / abort; always detaches its listeners. */
function settle(socket: Socket, ok: string, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      socket.off(ok, onOk);
      socket.off("error", onError);
      signal.removeEventListener("abort", onAbort);
    };
    const onOk = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onAbort = () => {
      cleanup();
      socket.destroy();
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    socket.once(ok, onOk);
    socket.once("error", onError);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** tcp_connect[ep] and, when asked and connected, tls_handshake[ep] for one endpoint. */
export async function tcpTlsStep(cfg: TcpTlsConfig): Promise<{ tcp: TcpResult; tls: TlsResult | null }> {
  const dl = deadline(cfg.signal, cfg.timeoutMs);
  let socket: Socket | undefined;
  let tlsSocket: TLSSocket | undefined;
  try {
    try {
      socket = netConnect({ host: cfg.address, port: cfg.port });
      socket.on("error", () => {}); // errors are read via settle(); never let one escape as uncaught
      await settle(socket, "connect", dl.signal);
    } catch (err) {
      const failure = abortReason(dl.signal)?.failure ?? classifyGeneric(err);
      return { tcp: { status: false, failure: tcpMapFailure(failure) }, tls: null };
    }
    const tcp: TcpResult = { status: true, failure: null };
    if (!cfg.tls) return { tcp, tls: null };

    try {
      const sniIsIp = ipFamily(cfg.serverName) !== 0;
      tlsSocket = tlsConnect({
        socket,
        // `host` is what the certificate is checked against; SNI must not carry an IP (RFC 6066).
        host: cfg.serverName,
        ...(sniIsIp ? {} : { servername: cfg.serverName }),
        ALPNProtocols: ["h2", "http/1.1"],
        // Checked below, in Go's order (cert-verify.ts), not in OpenSSL's.
        rejectUnauthorized: false,
        ...(cfg.trust.ca !== undefined ? { ca: cfg.trust.ca } : {}),
      });
      tlsSocket.on("error", () => {});
      await settle(tlsSocket, "secureConnect", dl.signal);
      const rejected = verifyLikeGo(tlsSocket, cfg.serverName);
      if (rejected !== null) throw rejected;
      return { tcp, tls: { server_name: cfg.serverName, status: true, failure: null } };
    } catch (err) {
      const failure = abortReason(dl.signal)?.failure ?? classifyTlsError(err);
      return { tcp, tls: { server_name: cfg.serverName, status: false, failure } };
    }
  } finally {
    dl.dispose();
    tlsSocket?.destroy();
    socket?.destroy();
  }
}
