/** Metadata of one stored object. */
export interface BlobInfo {
  key: string;
  size: number;
  /** HTTP entity-tag, quoted (e.g. `"abc"`), usable as-is in an ETag header. */
  etag?: string;
  lastModified?: Date;
}

/** A byte window into an object: offset ≥ 0, length ≥ 1 (both integers). */
export interface ByteRange {
  offset: number;
  length: number;
}

export interface BlobStore {
  readonly kind: "local" | "s3";
  /** Human-readable location, e.g. "local:/abs/dir" or "s3://bucket/prefix"; never contains secrets. */
  readonly description: string;
  /** Atomic: readers see the old object or the whole new one, never a partial write. */
  put(key: string, body: Uint8Array, opts?: { contentType?: string }): Promise<void>;
  /** null when the key is missing; a range past the end yields the available bytes (empty when offset ≥ size). */
  get(key: string, range?: ByteRange): Promise<Uint8Array | null>;
  head(key: string): Promise<BlobInfo | null>;
  /** Every key starting with `prefix`, in lexicographic (UTF-8 byte) order, paginating as needed. */
  list(prefix: string): AsyncIterable<BlobInfo>;
  /** Idempotent: deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Health check; throws a BlobStoreError when the store is unreachable or unusable. */
  check(): Promise<void>;
}

/**
 * - invalid_key: the caller passed a key/prefix that breaks the key rules (not retryable)
 * - unavailable: the backend could not be reached or is temporarily failing (retryable)
 * - io: the backend answered with an error or the filesystem operation failed
 */
export type BlobStoreErrorCode = "invalid_key" | "unavailable" | "io";

export class BlobStoreError extends Error {
  override readonly name = "BlobStoreError";
  readonly code: BlobStoreErrorCode;

  constructor(code: BlobStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isBlobStoreError(err: unknown, code?: BlobStoreErrorCode): err is BlobStoreError {
  return err instanceof BlobStoreError && (code === undefined || err.code === code);
}
