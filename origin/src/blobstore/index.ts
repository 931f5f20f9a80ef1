import { LocalBlobStore } from "./local";
import { S3BlobStore } from "./s3";
import type { BlobStore } from "./types";

export { BlobStoreError, isBlobStoreError } from "./types";
export type { BlobInfo, BlobStore, BlobStoreErrorCode, ByteRange } from "./types";
export { MAX_KEY_BYTES, assertValidKey, assertValidPrefix, compareKeys, isValidKey } from "./keys";
export { LocalBlobStore } from "./local";
export { DEFAULT_S3_TIMEOUT_MS, S3BlobStore } from "./s3";
export type { S3BlobStoreOptions } from "./s3";

export type BlobStoreConfig =
  | { kind: "local"; dir: string }
  | {
      kind: "s3";
      bucket: string;
      prefix: string;
      endpoint: string;
      region: string;
      accessKeyId: string;
      secretAccessKey: string;
      forcePathStyle: boolean;
      timeoutMs?: number;
    };

export function createBlobStore(cfg: BlobStoreConfig): BlobStore {
  switch (cfg.kind) {
    case "local":
      return new LocalBlobStore(cfg.dir);
    case "s3":
      return new S3BlobStore(cfg);
    default:
      // Config may come from untyped sources (TOML/env) despite the type.
      throw new TypeError(`unknown blob store kind ${JSON.stringify((cfg as { kind?: unknown }).kind)}`);
  }
}
