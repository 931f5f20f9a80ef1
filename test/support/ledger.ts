import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { runThroughSocket } from "../../origin/src/admin/client";
import { adminSocketPath } from "../../origin/src/admin/protocol";
import { openDatabase, queryRows } from "../../origin/src/db/clickhouse";

// "Nothing lost" bookkeeping for the fault and load suites. Clients record every measurement the
// backend acknowledged (uid, a nonce carried in the measurement, the bytes of the request); at the
// end the origin's spool and ClickHouse are read back: every acknowledged uid byte-present in the
// spool and scored into a `fastpath` row, and no measurement stored twice.

export const NONCE_KEY = "load_nonce";

export interface Ack {
  uid: string;
  nonce: string;
  /** POST /report/{id}: the exact body (identity encoding). submit_measurement: the measurement string. */
  sent: string;
  via: "report" | "submit_measurement";
}

export class Ledger {
  readonly acks: Ack[] = [];
  add(ack: Ack): void {
    this.acks.push(ack);
  }
}

/** Every `.post` file in the spool: uid → path. */
export function spoolFiles(dataDir: string): Map<string, string> {
  const incoming = path.join(dataDir, "spool", "incoming");
  const out = new Map<string, string>();
  let dirs: string[] = [];
  try {
    dirs = readdirSync(incoming);
  } catch {
    return out;
  }
  for (const d of dirs) {
    for (const f of readdirSync(path.join(incoming, d))) if (f.endsWith(".post")) out.set(f.slice(0, -5), path.join(incoming, d, f));
  }
  return out;
}

/** Rows in `fastpath` as the running origin reports them (`db status` through its admin socket). */
export async function fastpathRowsViaAdmin(dataDir: string): Promise<number> {
  let out = "";
  const code = await runThroughSocket(
    adminSocketPath(dataDir),
    "db",
    ["status"],
    { out: (t) => (out += t), err: (t) => (out += t), interactive: false },
    AbortSignal.timeout(30_000),
  );
  if (code !== 0) throw new Error(`db status exited ${code}: ${out}`);
  const m = /^fastpath\s+(\d+)$/m.exec(out);
  return m ? Number(m[1]) : 0;
}

/** Waits until the running origin's fastpath has a row for every spooled measurement. */
export async function waitForFastpath(dataDir: string, timeoutMs: number): Promise<{ rows: number; spooled: number; waitedMs: number }> {
  const t0 = Date.now();
  for (;;) {
    const spooled = spoolFiles(dataDir).size;
    const rows = await fastpathRowsViaAdmin(dataDir);
    if (rows >= spooled) return { rows, spooled, waitedMs: Date.now() - t0 };
    if (Date.now() - t0 > timeoutMs) throw new Error(`fastpath did not catch up in ${timeoutMs} ms: ${rows} rows for ${spooled} spooled`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface StoredFigures {
  acknowledged: number;
  /** Acknowledged uids whose spool file holds what was sent, and that have a fastpath row. */
  stored: number;
  /** Measurements (nonces) acknowledged more than once, or acknowledged uids with more than one row. */
  duplicates: number;
  in_spool: number;
  in_clickhouse: number;
  /**
   * Extra copies of an acknowledged measurement that were never acknowledged: the origin stored an
   * attempt whose answer was cut (kill, timeout), and the client sent it again. At-least-once,
   * visible here rather than hidden.
   */
  unacknowledged_copies: number;
  spool_files: number;
  fastpath_rows: number;
  problems: string[];
}

function nonceOf(bytes: Buffer): string | null {
  try {
    const env = JSON.parse(bytes.toString("utf8")) as { content?: unknown };
    const content = typeof env.content === "string" ? (JSON.parse(env.content) as unknown) : env.content;
    const ann = (content as { annotations?: Record<string, unknown> } | null)?.annotations;
    return typeof ann?.[NONCE_KEY] === "string" ? (ann[NONCE_KEY] as string) : null;
  } catch {
    return null;
  }
}

/**
 * Reads the spool and the origin's ClickHouse in this process: the origin must be stopped first
 * (embedded chDB locks its directory to one process).
 */
export async function verifyStored(dataDir: string, acks: readonly Ack[]): Promise<StoredFigures> {
  const problems: string[] = [];
  const files = spoolFiles(dataDir);
  const acked = new Set(acks.map((a) => a.uid));
  let inSpool = 0;
  const spoolOk = new Set<string>();
  for (const a of acks) {
    const file = files.get(a.uid);
    if (!file) {
      problems.push(`${a.uid}: acknowledged, not in the spool`);
      continue;
    }
    const bytes = readFileSync(file, "utf8");
    const same = a.via === "report" ? bytes === a.sent : bytes.endsWith(`"content":${a.sent}}`);
    if (!same) problems.push(`${a.uid}: spool file differs from what was sent`);
    else {
      inSpool++;
      spoolOk.add(a.uid);
    }
  }
  // Copies per nonce, over every file in the spool (acknowledged or not).
  const copies = new Map<string, string[]>();
  for (const [uid, file] of files) {
    const n = nonceOf(readFileSync(file));
    if (n !== null) copies.set(n, [...(copies.get(n) ?? []), uid]);
  }
  const ackedNonces = new Map<string, number>();
  for (const a of acks) ackedNonces.set(a.nonce, (ackedNonces.get(a.nonce) ?? 0) + 1);
  let duplicates = [...ackedNonces.values()].filter((n) => n > 1).length;
  let unacknowledgedCopies = 0;
  for (const [nonce, uids] of copies) {
    if (!ackedNonces.has(nonce)) continue;
    unacknowledgedCopies += uids.filter((u) => !acked.has(u)).length;
  }

  const db = openDatabase({ kind: "embedded", path: path.join(dataDir, "clickhouse"), database: "default", queryTimeoutS: 120 });
  let inClickhouse = 0;
  let fastpathRows = 0;
  try {
    const uids = [...acked];
    for (let i = 0; i < uids.length; i += 5_000) {
      const rows = await queryRows<{ u: string; n: number }>(
        db,
        "SELECT measurement_uid AS u, count() AS n FROM fastpath FINAL WHERE measurement_uid IN {uids:Array(String)} GROUP BY measurement_uid",
        { uids: uids.slice(i, i + 5_000) },
      );
      for (const r of rows) {
        if (Number(r.n) > 1) duplicates++;
        if (spoolOk.has(r.u)) inClickhouse++;
      }
    }
    const [c] = await queryRows<{ final: number; distinct: number }>(
      db,
      "SELECT (SELECT count() FROM fastpath FINAL) AS final, (SELECT uniqExact(measurement_uid) FROM fastpath) AS distinct",
    );
    fastpathRows = Number(c!.final);
    if (Number(c!.final) !== Number(c!.distinct)) problems.push(`fastpath FINAL has ${c!.final} rows for ${c!.distinct} uids`);
  } finally {
    await db.close();
  }
  return {
    acknowledged: acks.length,
    stored: inClickhouse,
    duplicates,
    in_spool: inSpool,
    in_clickhouse: inClickhouse,
    unacknowledged_copies: unacknowledgedCopies,
    spool_files: files.size,
    fastpath_rows: fastpathRows,
    problems: problems.slice(0, 20),
  };
}
