import { createHash } from "node:crypto";
import { compress } from "@mongodb-js/zstd";
import { queryRows } from "../db/clickhouse";
import { metrics } from "../metrics/registry";
import type { Services } from "../services";
import { CsvChunker, type CsvPart } from "./csv-chunker";
import { Throttle } from "./throttle";

// `export TABLE...`: each table is read as CSV (CSVWithNames) and written to the blob store in
// parts of about EXPORT_CHUNK_MB each, zstd-compressed, with no temporary file: bytes go from the
// query's stream to an in-memory part to one blob-store put. A manifest written last lists the
// parts (keys, rows, sizes, sha256) and the columns; a directory without a manifest is an export
// that did not finish.
//
//   <EXPORT_PREFIX>/<table>/<YYYYMMDDTHHMMSSZ>/part-00000.csv.zst … manifest.json
//
// How rows are read depends on the engine. A ClickHouse server streams a result over HTTP, so one
// query is read as it arrives (memory stays at one part). Embedded chDB materialises a whole result
// before returning it, so there the table is read in slices — rows whose cityHash64 of all columns
// falls in bucket i of N, with N chosen so a slice is about one part — and each slice is streamed
// on. Every row lands in exactly one slice; it costs N scans of the table, acceptable for the
// single-machine sizes embedded mode is for.
//
// A restore: for each part, `zstd -dc part | clickhouse-client -q "INSERT INTO t FORMAT CSVWithNames"`.
// MATERIALIZED columns (update_time) are not exported; they are computed again on insert.

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_BUCKETS = 4096;

export class ExportError extends Error {
  override readonly name = "ExportError";
}

export interface ExportProgress {
  table: string;
  rows: number;
  /** From system.tables; approximate, and null when unknown (views). */
  rowsTotal: number | null;
  parts: number;
  bytes: number;
  compressedBytes: number;
  elapsedMs: number;
  done: boolean;
}

export interface ExportOptions {
  signal?: AbortSignal;
  /** Skip tables that do not exist instead of failing (the backup job's list is a wish list). */
  skipMissing?: boolean;
  onProgress?: (p: ExportProgress) => void;
  /** Slices to read the table in; default: 1 on a server, sized to EXPORT_CHUNK_MB on chDB. */
  buckets?: number;
  chunkBytes?: number;
  maxBytesPerS?: number;
  now?: Date;
}

export interface ExportPartInfo {
  key: string;
  rows: number;
  bytes: number;
  compressed_bytes: number;
  sha256: string;
}

export interface ExportResult {
  table: string;
  rows: number;
  parts: ExportPartInfo[];
  bytes: number;
  compressedBytes: number;
  manifestKey: string;
  elapsedMs: number;
}

interface TableInfo {
  name: string;
  engine: string;
  total_rows: number | null;
}

function stamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z").replace(/[-:]/g, "");
}

async function tableInfo(services: Services, table: string): Promise<TableInfo | null> {
  const [row] = await queryRows<TableInfo>(
    services.db,
    "SELECT name, engine, total_rows FROM system.tables WHERE database = currentDatabase() AND name = {t:String}",
    { t: table },
  );
  return row ?? null;
}

async function uncompressedBytes(services: Services, table: string): Promise<number> {
  const [row] = await queryRows<{ b: number | null }>(
    services.db,
    "SELECT sum(data_uncompressed_bytes) AS b FROM system.parts WHERE active AND database = currentDatabase() AND table = {t:String}",
    { t: table },
  );
  return Number(row?.b ?? 0);
}

export async function exportTable(services: Services, table: string, opts: ExportOptions = {}): Promise<ExportResult> {
  if (!TABLE_NAME.test(table)) throw new ExportError(`not a table name: ${JSON.stringify(table)}`);
  const cfg = services.config.export;
  const chunkBytes = opts.chunkBytes ?? cfg.chunkBytes;
  const info = await tableInfo(services, table);
  if (!info) throw new ExportError(`no table ${table} in the database`);
  const columns = await queryRows<{ name: string; type: string }>(
    services.db,
    "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String} AND default_kind != 'MATERIALIZED' ORDER BY position",
    { t: table },
  );
  let buckets = opts.buckets;
  if (buckets === undefined) {
    buckets = services.db.kind === "embedded" ? Math.ceil((await uncompressedBytes(services, table)) / chunkBytes) : 1;
  }
  buckets = Math.min(MAX_BUCKETS, Math.max(1, Math.floor(buckets)));

  const started = performance.now();
  const dir = `${cfg.prefix}/${table}/${stamp(opts.now ?? new Date())}`;
  const chunker = new CsvChunker(chunkBytes);
  const throttle = new Throttle(opts.maxBytesPerS ?? cfg.maxBytesPerS);
  const parts: ExportPartInfo[] = [];
  const progress: ExportProgress = {
    table,
    rows: 0,
    rowsTotal: info.total_rows === null ? null : Number(info.total_rows),
    parts: 0,
    bytes: 0,
    compressedBytes: 0,
    elapsedMs: 0,
    done: false,
  };
  const report = () => opts.onProgress?.({ ...progress, elapsedMs: performance.now() - started });

  const store = async (part: CsvPart) => {
    opts.signal?.throwIfAborted();
    const body = await compress(part.data, cfg.zstdLevel);
    const key = `${dir}/part-${String(parts.length).padStart(5, "0")}.csv.zst`;
    await services.blobs.put(key, body, { contentType: "application/zstd" });
    parts.push({ key, rows: part.rows, bytes: part.data.length, compressed_bytes: body.length, sha256: createHash("sha256").update(body).digest("hex") });
    progress.rows += part.rows;
    progress.parts = parts.length;
    progress.compressedBytes += body.length;
    metrics.observeExportChunk(table, part.rows, body.length);
    report();
  };

  for (let bucket = 0; bucket < buckets; bucket++) {
    opts.signal?.throwIfAborted();
    const sliced = buckets > 1;
    const result = await services.db.client.exec({
      query: `SELECT * FROM {t:Identifier}${sliced ? " WHERE cityHash64(*) % {n:UInt32} = {i:UInt32}" : ""} FORMAT CSVWithNames`,
      query_params: sliced ? { t: table, n: buckets, i: bucket } : { t: table },
      // An export may take far longer than an API query; the throttle may even make it so.
      clickhouse_settings: { max_execution_time: 0 },
      abort_signal: opts.signal,
    });
    chunker.startResult();
    for await (const chunk of result.stream as AsyncIterable<Buffer>) {
      progress.bytes += chunk.length;
      for (const part of chunker.push(chunk)) await store(part);
      await throttle.pace(chunk.length, opts.signal);
    }
  }
  const last = chunker.finish();
  if (last) await store(last);

  const manifestKey = `${dir}/manifest.json`;
  const manifest = {
    format: "ooni-edge-export/1",
    table,
    engine: info.engine,
    database: services.db.description,
    created: new Date().toISOString(),
    columns,
    csv: "CSVWithNames: RFC 4180, header line in every part",
    compression: "zstd",
    rows: progress.rows,
    bytes: progress.bytes,
    compressed_bytes: progress.compressedBytes,
    parts,
  };
  await services.blobs.put(manifestKey, Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`), { contentType: "application/json" });
  progress.done = true;
  report();
  return {
    table,
    rows: progress.rows,
    parts,
    bytes: progress.bytes,
    compressedBytes: progress.compressedBytes,
    manifestKey,
    elapsedMs: performance.now() - started,
  };
}

export async function exportTables(services: Services, tables: readonly string[], opts: ExportOptions = {}): Promise<ExportResult[]> {
  const out: ExportResult[] = [];
  for (const table of tables) {
    if (opts.skipMissing && TABLE_NAME.test(table) && !(await tableInfo(services, table))) {
      services.log.warn({ table }, "export: no such table, skipped");
      continue;
    }
    out.push(await exportTable(services, table, opts));
  }
  return out;
}
