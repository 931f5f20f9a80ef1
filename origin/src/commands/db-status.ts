import { queryRows } from "../db/clickhouse";
import { appliedVersions } from "../db/migrations";
import type { ServicesCommand } from "./types";

// `db status`: row counts of the main tables and the applied migrations — a quick look at what
// the origin holds, and the simplest command that needs the database.
const TABLES = ["fastpath", "jsonl", "citizenlab", "url_priorities", "fingerprints_dns", "fingerprints_http", "asnmeta"];

export const dbStatusCommand: ServicesCommand = {
  summary: "show the database engine, applied migrations and table row counts",
  usage: "db status",
  needsServices: true,
  async runWith(services, args, io) {
    if (args[0] !== "status") {
      io.err("usage: npm run cli -- db status\n");
      return 2;
    }
    io.out(`database: ${services.db.description}\n`);
    io.out(`migrations: ${(await appliedVersions(services.db)).join(", ")}\n`);
    const rows = await queryRows<{ name: string; rows: number }>(
      services.db,
      "SELECT name, total_rows AS rows FROM system.tables WHERE database = currentDatabase() AND name IN {names:Array(String)} ORDER BY name",
      { names: TABLES },
    );
    for (const r of rows) io.out(`${r.name.padEnd(20)} ${r.rows ?? 0}\n`);
  },
};
