import { readFile, stat } from "node:fs/promises";
import { gunzip } from "node:zlib";
import { promisify } from "node:util";

// Getting an updater's input: a local file or an http(s) URL, size-limited and time-limited, and
// gunzipped when it is gzip (by its magic bytes, whatever the name says). Everything is held in
// memory: the inputs are tens of megabytes at most, and parsing needs them whole anyway.

const gunzipAsync = promisify(gunzip);

export interface FetchLimits {
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
}

export class SourceError extends Error {
  override readonly name = "SourceError";
}

export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/** Replaces {YYYY} and {MM} with the current UTC year and month (DB-IP names its monthly files so). */
export function expandUrlTemplate(url: string, now = new Date()): string {
  return url
    .replaceAll("{YYYY}", String(now.getUTCFullYear()))
    .replaceAll("{MM}", String(now.getUTCMonth() + 1).padStart(2, "0"));
}

/** Credentials in a URL never reach logs or error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = "***";
      u.password = "";
    }
    u.search = u.search ? "?…" : "";
    return u.toString();
  } catch {
    return "(invalid URL)";
  }
}

export async function fetchBytes(url: string, limits: FetchLimits): Promise<Buffer> {
  const signals = [AbortSignal.timeout(limits.timeoutMs)];
  if (limits.signal) signals.push(limits.signal);
  const shown = redactUrl(url);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.any(signals), redirect: "follow" });
  } catch (err) {
    throw new SourceError(`cannot fetch ${shown}: ${(err as Error).message}`);
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => {});
    throw new SourceError(`fetching ${shown} answered HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > limits.maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new SourceError(`${shown} is ${declared} bytes, more than the ${limits.maxBytes} allowed (UPDATER_MAX_DOWNLOAD_MB)`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body ?? []) {
      size += chunk.byteLength;
      if (size > limits.maxBytes) {
        throw new SourceError(`${shown} is more than the ${limits.maxBytes} bytes allowed (UPDATER_MAX_DOWNLOAD_MB)`);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof SourceError) throw err;
    throw new SourceError(`download of ${shown} broke off after ${size} bytes: ${(err as Error).message}`);
  }
  // A body shorter than its Content-Length is a truncated transfer, even if the stream ended quietly.
  if (Number.isFinite(declared) && size !== declared) {
    throw new SourceError(`download of ${shown} is truncated: ${size} of ${declared} bytes`);
  }
  return Buffer.concat(chunks);
}

export async function gunzipIfNeeded(data: Buffer, maxBytes: number, label: string): Promise<Buffer> {
  if (data.length < 2 || data[0] !== 0x1f || data[1] !== 0x8b) return data;
  try {
    return await gunzipAsync(data, { maxOutputLength: maxBytes });
  } catch (err) {
    throw new SourceError(`${label} is not valid gzip: ${(err as Error).message}`);
  }
}

/** A local file or an http(s) URL, gunzipped when needed. */
export async function readSource(source: string, limits: FetchLimits): Promise<Buffer> {
  let raw: Buffer;
  if (isUrl(source)) {
    raw = await fetchBytes(source, limits);
  } else {
    const st = await stat(source).catch((err: NodeJS.ErrnoException) => {
      throw new SourceError(`cannot read ${source}: ${err.code ?? err.message}`);
    });
    if (!st.isFile()) throw new SourceError(`${source} is not a file`);
    if (st.size > limits.maxBytes) throw new SourceError(`${source} is larger than the ${limits.maxBytes} bytes allowed`);
    raw = await readFile(source);
  }
  return gunzipIfNeeded(raw, limits.maxBytes, isUrl(source) ? redactUrl(source) : source);
}
