import { parseArgs } from "node:util";
import type { ServicesCommand } from "../commands/types";
import { ExportError, exportTable, type ExportProgress } from "./export";

// `npm run cli -- export TABLE... [--chunk-mb N] [--max-mb-per-s N]`: tables to the blob store as
// zstd CSV parts plus a manifest (export/export.ts). A progress bar on a terminal; plain lines
// every few seconds otherwise (through the admin socket, or in a log).

const USAGE = "export TABLE... [--chunk-mb N] [--max-mb-per-s N]";
const PLAIN_EVERY_MS = 2000;

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}

export function formatExportProgress(p: ExportProgress): string {
  const frac = p.rowsTotal ? Math.min(1, p.rows / p.rowsTotal) : p.done ? 1 : 0;
  const width = 24;
  const filled = Math.round(frac * width);
  const rate = p.elapsedMs > 0 ? (p.bytes / p.elapsedMs) * 1000 : 0;
  const total = p.rowsTotal === null ? "" : `/${p.rowsTotal.toLocaleString("en")}`;
  return (
    `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${p.table}: ` +
    `${p.rows.toLocaleString("en")}${total} rows · ${p.parts} parts · ${mb(p.bytes)} read → ${mb(p.compressedBytes)} zstd · ${mb(rate)}/s`
  );
}

function positiveNumber(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new ExportError(`${what} must be a number ≥ 0`);
  return n;
}

export const exportCommand: ServicesCommand = {
  summary: "export tables to the blob store as zstd-compressed CSV parts, with a manifest",
  usage: USAGE,
  needsServices: true,
  async runWith(services, args, io, signal) {
    let tables: string[];
    let chunkBytes: number | undefined;
    let maxBytesPerS: number | undefined;
    try {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { "chunk-mb": { type: "string" }, "max-mb-per-s": { type: "string" } },
      });
      if (positionals.length === 0) throw new ExportError("name at least one table");
      tables = positionals;
      const chunkMb = positiveNumber(values["chunk-mb"], "--chunk-mb");
      if (chunkMb !== undefined && chunkMb <= 0) throw new ExportError("--chunk-mb must be more than 0");
      chunkBytes = chunkMb === undefined ? undefined : Math.round(chunkMb * 1024 * 1024);
      const rate = positiveNumber(values["max-mb-per-s"], "--max-mb-per-s");
      maxBytesPerS = rate === undefined ? undefined : Math.round(rate * 1024 * 1024);
    } catch (err) {
      io.err(`error: ${(err as Error).message}\nusage: npm run cli -- ${USAGE}\n`);
      return 2;
    }
    let failed = 0;
    for (const table of tables) {
      let lastPlain = 0;
      try {
        const r = await exportTable(services, table, {
          signal,
          chunkBytes,
          maxBytesPerS,
          onProgress: (p) => {
            if (io.interactive) io.out(`\r${formatExportProgress(p)}`);
            else if (p.done || Date.now() - lastPlain >= PLAIN_EVERY_MS) {
              lastPlain = Date.now();
              io.out(`${formatExportProgress(p)}\n`);
            }
          },
        });
        if (io.interactive) io.out("\n");
        io.out(`${table}: ${r.rows} rows in ${r.parts.length} parts, ${mb(r.compressedBytes)} → ${services.blobs.description} ${r.manifestKey}\n`);
      } catch (err) {
        if (io.interactive) io.out("\n");
        if (signal.aborted) {
          io.err(`${table}: interrupted; the parts written so far have no manifest and are not a complete export\n`);
          return 130;
        }
        failed++;
        io.err(`${table}: ${(err as Error).message}\n`);
      }
    }
    return failed ? 1 : 0;
  },
};
