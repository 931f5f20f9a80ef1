import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { createApp } from "../../../origin/src/app";
import { queryRows } from "../../../origin/src/db/clickhouse";
import type { Services } from "../../../origin/src/services";
import { sha256 } from "./support";

// Everything the archive tests assert on, gathered in one place so the in-process suites and the
// crash driver (a separate process) check the same things: the spool, the journal, the jsonl
// table, the blob store as the standard tools read it, and every body through the HTTP API.

export interface ArchiveState {
  spoolHourDirs: string[];
  spoolFiles: number;
  journals: string[];
  jsonlFinal: number;
  jsonlDistinctUids: number;
  keys: string[];
  /** Member names of every postcan, as `tar -tzf` lists them. */
  tarMembers: string[];
  /** Lines of every JSONL file, as `gzip -dc` outputs them. */
  jsonlLines: number;
  /** Every line parses as JSON. */
  jsonlLinesAreJson: boolean;
  bodies: Record<string, { status: number; sha256: string; cacheControl: string | null }>;
}

export async function inspectArchive(services: Services, app: ReturnType<typeof createApp>, uids: string[]): Promise<ArchiveState> {
  const spoolHourDirs = await services.spool.listHourDirs();
  let spoolFiles = 0;
  for (const d of spoolHourDirs) spoolFiles += (await services.spool.listFiles(d)).length;
  const journals = (await readdir(path.join(services.spool.root, "uploader")).catch(() => [] as string[])).filter((n) => n.endsWith(".json"));
  const [final] = await queryRows<{ n: number; u: number }>(services.db, "SELECT count() AS n, uniqExact(measurement_uid) AS u FROM jsonl FINAL");

  const keys: string[] = [];
  for await (const info of services.blobs.list("raw/")) keys.push(info.key);
  const tmp = mkdtempSync(path.join(os.tmpdir(), "archive-inspect-"));
  const tarMembers: string[] = [];
  let jsonlLines = 0;
  let jsonlLinesAreJson = true;
  try {
    for (const [i, key] of keys.entries()) {
      const file = path.join(tmp, `${i}-${path.basename(key)}`);
      writeFileSync(file, (await services.blobs.get(key))!);
      if (key.endsWith(".tar.gz")) {
        tarMembers.push(...execFileSync("tar", ["-tzf", file], { encoding: "utf8" }).split("\n").filter(Boolean));
      } else if (key.endsWith(".jsonl.gz")) {
        const text = execFileSync("gzip", ["-dc", file], { encoding: "utf8", maxBuffer: 1 << 30 });
        const lines = text.split("\n");
        if (lines.pop() !== "") jsonlLinesAreJson = false; // the file must end with a newline
        jsonlLines += lines.length;
        for (const l of lines) {
          try {
            JSON.parse(l);
          } catch {
            jsonlLinesAreJson = false;
          }
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const bodies: ArchiveState["bodies"] = {};
  for (const uid of uids) {
    const res = await app.request(`/api/v1/raw_measurement?measurement_uid=${uid}`);
    bodies[uid] = { status: res.status, sha256: sha256(new Uint8Array(await res.arrayBuffer())), cacheControl: res.headers.get("cache-control") };
  }
  return {
    spoolHourDirs,
    spoolFiles,
    journals,
    jsonlFinal: Number(final?.n ?? 0),
    jsonlDistinctUids: Number(final?.u ?? 0),
    keys,
    tarMembers,
    jsonlLines,
    jsonlLinesAreJson,
    bodies,
  };
}
