import type { Digest, DigestRefusal } from "./digest";

// Messages between the intake and its parse threads (pool.ts, worker.ts).

export interface ToParseThread {
  id: number;
  bytes: Uint8Array;
}

export type FromParseThread = { id: number; result: Digest | DigestRefusal } | { ready: true; id?: undefined };
