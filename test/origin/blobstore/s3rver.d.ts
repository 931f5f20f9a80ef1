// s3rver ships no types; only the surface the blob store tests use is declared.
declare module "s3rver" {
  import type { AddressInfo } from "node:net";

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
  }

  interface S3rverObject {
    key: string;
  }

  interface S3rverListResult {
    objects: S3rverObject[];
    commonPrefixes: string[];
    isTruncated: boolean;
  }

  interface S3rverListOptions {
    delimiter?: string;
    startAfter?: string;
    prefix?: string;
    maxKeys?: number;
  }

  interface S3rverStore {
    listObjects(bucket: string, options: S3rverListOptions): Promise<S3rverListResult>;
  }

  export default class S3rver {
    constructor(options?: S3rverOptions);
    store: S3rverStore;
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }
}
