import type { Server } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import S3rver from "s3rver";
import { applyS3rverFixes } from "../../origin/blobstore/s3rver-fixes";
import { S3_BUCKET } from "../../origin/archive/s3rver";
import { freePort } from "./origin";

// s3rver on loopback that can go away and come back on the same port with the same objects — a
// blob store outage as the origin sees it (connection refused), not a fresh empty store. Patched
// like the archive suites' (s3rver-fixes.ts); `env(prefix)` has the origin's settings for it.

export interface OutageS3 {
  env(prefix: string): Record<string, string>;
  readonly up: boolean;
  /** PUT requests served since start (all incarnations). */
  readonly puts: number;
  /** Stop answering at once: the listener closes and open connections are cut. */
  stop(): Promise<void>;
  /** Back on the same port, with everything stored before. */
  start(): Promise<void>;
  /** stop() from inside the server right after the PUT numbered `n` (counted from now) is answered. */
  stopAfterPuts(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function startOutageS3(): Promise<OutageS3> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "faults-s3rver-"));
  const port = await freePort();
  let server: S3rver | null = null;
  let puts = 0;
  let putHook: (() => void) | null = null;

  const start = async () => {
    if (server) return;
    const s = new S3rver({ address: "127.0.0.1", port, silent: true, directory: dir, configureBuckets: [{ name: S3_BUCKET }] });
    applyS3rverFixes(s);
    await s.run();
    const http = (s as unknown as { httpServer: Server }).httpServer;
    http.prependListener("request", (req, res) => {
      if (req.method !== "PUT") return;
      res.once("finish", () => {
        puts++;
        putHook?.();
      });
    });
    server = s;
  };
  const stop = async () => {
    const s = server;
    if (!s) return;
    server = null;
    const http = (s as unknown as { httpServer: Server }).httpServer;
    const closed = s.close();
    http.closeAllConnections();
    await closed;
  };
  await start();

  return {
    env: (prefix) => ({
      BLOB_STORE: `s3://${S3_BUCKET}/${prefix}`,
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_ACCESS_KEY_ID: "S3RVER",
      S3_SECRET_ACCESS_KEY: "S3RVER",
      S3_FORCE_PATH_STYLE: "true",
    }),
    get up() {
      return server !== null;
    },
    get puts() {
      return puts;
    },
    stop,
    start,
    stopAfterPuts(n) {
      const target = puts + n;
      return new Promise((resolve, reject) => {
        putHook = () => {
          if (puts < target) return;
          putHook = null;
          stop().then(resolve, reject);
        };
      });
    },
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
