import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import S3rver from "s3rver";
import { applyS3rverFixes } from "../blobstore/s3rver-fixes";

// s3rver on loopback for the archive suites, patched like the blob store contract's (see
// s3rver-fixes.ts). Returns the settings that point an origin at it.

export const S3_BUCKET = "archive-test";

export interface RunningS3 {
  endpoint: string;
  /** BLOB_STORE & co. for a fresh prefix (isolates one origin's archive from another's). */
  env(prefix: string): Record<string, string>;
  close(): Promise<void>;
}

export async function startS3rver(): Promise<RunningS3> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "archive-s3rver-"));
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: dir, configureBuckets: [{ name: S3_BUCKET }] });
  applyS3rverFixes(server);
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    env: (prefix) => ({
      BLOB_STORE: `s3://${S3_BUCKET}/${prefix}`,
      S3_ENDPOINT: endpoint,
      S3_ACCESS_KEY_ID: "S3RVER",
      S3_SECRET_ACCESS_KEY: "S3RVER",
      S3_FORCE_PATH_STYLE: "true",
    }),
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
