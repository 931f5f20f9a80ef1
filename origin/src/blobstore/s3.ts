import { createHash } from "node:crypto";
import { AwsClient } from "aws4fetch";
import { assertValidKey, assertValidPrefix, assertValidRange, isValidKey } from "./keys";
import { parseListObjectsV2, parseS3Error } from "./s3-xml";
import { assertBucketName, encodeKeyPath, parseEndpoint, s3Url } from "./s3-url";
import type { S3Location } from "./s3-url";
import { BlobStoreError } from "./types";
import type { BlobInfo, BlobStore, ByteRange } from "./types";

export const DEFAULT_S3_TIMEOUT_MS = 30_000;

export interface S3BlobStoreOptions {
  /** e.g. "https://s3.eu-central-1.amazonaws.com" or "http://127.0.0.1:9000" */
  endpoint: string;
  bucket: string;
  /** Keys live under "<prefix>/"; "" for the bucket root. Leading/trailing slashes are ignored. */
  prefix: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Path-style URLs (endpoint/bucket/key) instead of virtual-host style (bucket.endpoint/key). */
  forcePathStyle: boolean;
  /** Per request, including reading the body. */
  timeoutMs?: number;
}

interface Op {
  name: string;
  key: string;
}

function opLabel(op: Op): string {
  return op.key ? `${op.name} ${JSON.stringify(op.key)}` : op.name;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

function describeCause(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === "TimeoutError") return "timed out";
  // undici reports "fetch failed" and keeps the useful part (ECONNREFUSED, ENOTFOUND...) in cause.
  const cause = err.cause;
  if (cause instanceof Error) return `${err.message}: ${(cause as { code?: string }).code ?? cause.message}`;
  return err.message;
}

/**
 * Blob store on an S3-compatible bucket, signed with SigV4 (aws4fetch) over global fetch.
 * No retries here: failures that are worth retrying surface as code "unavailable" and the caller
 * decides (aws4fetch's own retry loop is disabled so timeouts stay predictable).
 */
export class S3BlobStore implements BlobStore {
  readonly kind = "s3" as const;
  readonly description: string;
  private readonly loc: S3Location;
  private readonly prefix: string;
  private readonly client: AwsClient;
  private readonly timeoutMs: number;

  constructor(opts: S3BlobStoreOptions) {
    assertBucketName(opts.bucket);
    const prefix = (opts.prefix ?? "").replace(/^\/+|\/+$/g, "");
    if (prefix !== "") assertValidKey(prefix);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_S3_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError(`invalid S3 timeoutMs ${timeoutMs}`);
    this.loc = { endpoint: parseEndpoint(opts.endpoint), bucket: opts.bucket, forcePathStyle: opts.forcePathStyle };
    this.prefix = prefix;
    this.timeoutMs = timeoutMs;
    this.client = new AwsClient({
      accessKeyId: opts.accessKeyId,
      secretAccessKey: opts.secretAccessKey,
      service: "s3",
      region: opts.region,
      retries: 0,
    });
    this.description = prefix ? `s3://${opts.bucket}/${prefix}` : `s3://${opts.bucket}`;
  }

  private fullKey(key: string): string {
    assertValidKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private objectUrl(key: string): URL {
    return s3Url(this.loc, encodeKeyPath(this.fullKey(key)));
  }

  private unavailable(op: Op, detail: string, cause?: unknown): BlobStoreError {
    return new BlobStoreError("unavailable", `S3 ${opLabel(op)} on ${this.description}: ${detail}`, { cause });
  }

  private async send(op: Op, method: string, url: URL, init: { headers?: Record<string, string>; body?: Uint8Array } = {}): Promise<Response> {
    const request = await this.client.sign(url, {
      method,
      headers: init.headers ?? {},
      body: init.body ?? null,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    try {
      return await fetch(request);
    } catch (err) {
      throw this.unavailable(op, describeCause(err), err);
    }
  }

  /** Reads the body under the same timeout signal; a broken body stream is a transport failure. */
  private async bytes(op: Op, res: Response): Promise<Uint8Array> {
    try {
      return new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      throw this.unavailable(op, `reading response body: ${describeCause(err)}`, err);
    }
  }

  private async text(op: Op, res: Response): Promise<string> {
    return new TextDecoder().decode(await this.bytes(op, res));
  }

  // Frees the connection back to the pool; the body content is irrelevant.
  private async drain(res: Response): Promise<void> {
    await res.body?.cancel().catch(() => undefined);
  }

  private async errorCode(res: Response): Promise<{ code?: string; message?: string }> {
    try {
      return parseS3Error(await res.text());
    } catch {
      return {};
    }
  }

  private async failure(op: Op, res: Response, parsed?: { code?: string; message?: string }): Promise<BlobStoreError> {
    const { code, message } = parsed ?? (await this.errorCode(res));
    const detail = `HTTP ${res.status}${code ? ` ${code}` : ""}${message ? `: ${message}` : ""}`;
    // 5xx and throttling are the backend's transient trouble; everything else is a real answer.
    if (res.status >= 500 || res.status === 429) return this.unavailable(op, detail);
    return new BlobStoreError("io", `S3 ${opLabel(op)} on ${this.description} failed: ${detail}`);
  }

  async put(key: string, body: Uint8Array, opts?: { contentType?: string }): Promise<void> {
    const op = { name: "put", key };
    const url = this.objectUrl(key);
    // A signed payload hash makes S3 reject a body corrupted in transit instead of storing it.
    const sha256 = createHash("sha256").update(body).digest("hex");
    const res = await this.send(op, "PUT", url, {
      headers: { "Content-Type": opts?.contentType ?? "application/octet-stream", "X-Amz-Content-Sha256": sha256 },
      body,
    });
    if (!res.ok) throw await this.failure(op, res);
    await this.drain(res);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array | null> {
    const op = { name: "get", key };
    const url = this.objectUrl(key);
    if (range) assertValidRange(range);
    const headers: Record<string, string> = range ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {};
    const res = await this.send(op, "GET", url, { headers });
    if (res.status === 404) {
      const parsed = await this.errorCode(res);
      // NoSuchBucket (or anything but a missing key) is a misconfiguration, not an absent object.
      if (parsed.code === undefined || parsed.code === "NoSuchKey") return null;
      throw await this.failure(op, res, parsed);
    }
    if (res.status === 416) {
      await this.drain(res);
      return new Uint8Array(0);
    }
    if (res.status !== 200 && res.status !== 206) throw await this.failure(op, res);
    const data = await this.bytes(op, res);
    if (!range) return data;
    // 200 means the range was ignored; a 206 may still start elsewhere (some servers widen it), so
    // cut the requested window out of what actually came back.
    let start = 0;
    if (res.status === 206) {
      const m = CONTENT_RANGE.exec(res.headers.get("content-range") ?? "");
      start = m ? Number(m[1]) : range.offset;
    }
    const skip = range.offset - start;
    if (skip < 0) throw new BlobStoreError("io", `S3 get ${JSON.stringify(key)}: server returned a range starting at ${start}, after ${range.offset}`);
    if (skip === 0 && data.length <= range.length) return data;
    return data.slice(skip, skip + range.length);
  }

  async head(key: string): Promise<BlobInfo | null> {
    const op = { name: "head", key };
    const res = await this.send(op, "HEAD", this.objectUrl(key));
    await this.drain(res);
    // HEAD responses carry no error body, so a missing bucket also reads as a missing key here;
    // check() is what catches a misconfigured bucket.
    if (res.status === 404) return null;
    if (!res.ok) throw await this.failure(op, res, {});
    const size = Number(res.headers.get("content-length"));
    if (!Number.isSafeInteger(size)) throw new BlobStoreError("io", `S3 head ${JSON.stringify(key)}: response has no valid Content-Length`);
    const info: BlobInfo = { key, size };
    const etag = res.headers.get("etag");
    if (etag) info.etag = etag;
    const modified = res.headers.get("last-modified");
    const date = modified ? new Date(modified) : undefined;
    if (date && !Number.isNaN(date.getTime())) info.lastModified = date;
    return info;
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    assertValidPrefix(prefix);
    const op = { name: "list", key: prefix };
    const storePrefix = this.prefix ? `${this.prefix}/` : "";
    let token: string | undefined;
    do {
      const url = s3Url(this.loc);
      url.searchParams.set("list-type", "2");
      url.searchParams.set("prefix", storePrefix + prefix);
      if (token !== undefined) url.searchParams.set("continuation-token", token);
      const res = await this.send(op, "GET", url);
      if (!res.ok) throw await this.failure(op, res);
      let page;
      try {
        page = parseListObjectsV2(await this.text(op, res));
      } catch (err) {
        if (err instanceof BlobStoreError) throw err;
        throw new BlobStoreError("io", `S3 list ${JSON.stringify(prefix)}: unparsable response: ${describeCause(err)}`, { cause: err });
      }
      for (const obj of page.objects) {
        if (!obj.key.startsWith(storePrefix)) continue;
        const key = obj.key.slice(storePrefix.length);
        // Objects written by other tools may carry names our key rules reject (e.g. "a//b"); they
        // could not be fetched through this interface, so they are not listed either.
        if (!isValidKey(key)) continue;
        yield { ...obj, key };
      }
      if (page.isTruncated && !page.nextContinuationToken) {
        throw new BlobStoreError("io", `S3 list ${JSON.stringify(prefix)}: truncated page without NextContinuationToken`);
      }
      token = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(key: string): Promise<void> {
    const op = { name: "delete", key };
    const res = await this.send(op, "DELETE", this.objectUrl(key));
    if (res.ok) return this.drain(res);
    if (res.status === 404) {
      const parsed = await this.errorCode(res);
      if (parsed.code === undefined || parsed.code === "NoSuchKey") return;
      throw await this.failure(op, res, parsed);
    }
    throw await this.failure(op, res);
  }

  /**
   * Reachability, credentials and bucket existence via a one-key listing under the prefix. It does
   * not prove write permission: a probe object would leave versions/delete markers behind in
   * versioned buckets and show up in concurrent listings.
   */
  async check(): Promise<void> {
    const op = { name: "check", key: "" };
    const url = s3Url(this.loc);
    url.searchParams.set("list-type", "2");
    url.searchParams.set("max-keys", "1");
    url.searchParams.set("prefix", this.prefix ? `${this.prefix}/` : "");
    const res = await this.send(op, "GET", url);
    if (!res.ok) throw await this.failure(op, res);
    await this.drain(res);
  }
}
