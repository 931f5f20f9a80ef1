import { z } from "zod";
import type { DnsResult } from "./dns-step";
import type { HttpRequestResult } from "./http-step";
import type { IpInfo } from "./ipinfo";
import type { TcpResult, TlsResult } from "./tcptls-step";

export const MAX_URL_LENGTH = 65_536;

/**
 * model.THRequest. Go probes serialise empty maps/slices as null, so those default to empty. Entries of
 * tcp_connect that are not "ip:port" / "[v6]:port" are ignored rather than rejected, like oohelperd:
 * one odd endpoint must not cost the probe its whole control measurement.
 */
export const controlRequestSchema = z.object({
  http_request: z
    .string()
    .min(1)
    // oohelperd has no URL limit of its own (only its 16 MiB body); it measured 9,000-character URLs
    // where we refused 8,192. 64 KiB keeps a bound far above any URL a probe tests.
    .max(MAX_URL_LENGTH)
    .refine((s) => {
      try {
        const u = new URL(s);
        return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
      } catch {
        return false;
      }
    }, "http_request must be an http:// or https:// URL"),
  http_request_headers: z
    .record(z.string(), z.array(z.string()).nullable())
    .nullish()
    .transform((h) => Object.fromEntries(Object.entries(h ?? {}).map(([k, v]) => [k, v ?? []])) as Record<string, string[]>),
  tcp_connect: z
    .array(z.string())
    .nullish()
    .transform((t) => t ?? []),
  x_quic_enabled: z.boolean().optional(),
});

export type ControlRequest = z.output<typeof controlRequestSchema>;

/** model.THResponse, fields in Go's order. QUIC/HTTP3 are not measured: always {} and null. */
export interface ControlResponse {
  tcp_connect: Record<string, TcpResult>;
  tls_handshake: Record<string, TlsResult>;
  quic_handshake: Record<string, never>;
  http_request: HttpRequestResult;
  http3_request: null;
  dns: DnsResult;
  ip_info: Record<string, IpInfo>;
}
