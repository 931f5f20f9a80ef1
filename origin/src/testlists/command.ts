import path from "node:path";
import { parseArgs } from "node:util";
import type { CommandOutput, ServicesCommand } from "../commands/types";
import { readCitizenlabDir, TestListDirError, type RowProblem } from "./citizenlab-files";
import { loadCitizenlabDir } from "./load";

// `npm run cli -- testlists load DIR [--dry-run]`: replaces the citizenlab table with the CitizenLab
// CSV lists in DIR (atomic swap, so probes checking in meanwhile see the old list or the new one).
// A services command: with `npm start` running it executes inside the origin through the admin
// socket; otherwise in the CLI's own process (and a process that holds the embedded database
// without serving the socket makes the CLI report chDB's lock). DIR is resolved against the
// repository root, the working directory of `npm run` and of the origin alike.

const usage = "testlists load DIR [--dry-run]";

function printProblems(io: CommandOutput, problems: RowProblem[]) {
  for (const p of problems.slice(0, 20)) io.err(`skipped ${p.file}:${p.line}: ${p.reason}\n`);
  if (problems.length > 20) io.err(`… and ${problems.length - 20} more skipped rows\n`);
}

export const testlistsCommand: ServicesCommand = {
  summary: "load the CitizenLab URL test lists (lists/global.csv, lists/<cc>.csv) into the database",
  usage,
  needsServices: true,
  async runWith(services, args, io) {
    let parsed;
    try {
      parsed = parseArgs({ args, allowPositionals: true, options: { "dry-run": { type: "boolean" } } });
    } catch (err) {
      io.err(`${(err as Error).message}\nusage: npm run cli -- ${usage}\n`);
      return 2;
    }
    const [sub, dirArg, ...rest] = parsed.positionals;
    if (sub !== "load" || !dirArg || rest.length > 0) {
      io.err(`usage: npm run cli -- ${usage}\n`);
      return 2;
    }
    const dir = path.resolve(dirArg);
    try {
      if (parsed.values["dry-run"]) {
        const { rows, problems, files } = await readCitizenlabDir(dir);
        printProblems(io, problems);
        io.out(`${JSON.stringify({ dry_run: true, files: files.length, rows: rows.length, skipped: problems.length })}\n`);
        return rows.length > 0 ? 0 : 1;
      }
      const result = await loadCitizenlabDir(services.db, dir);
      printProblems(io, result.problems);
      // The origin serving this command swaps its in-memory lists before answering; other hosts
      // notice the new checksum at their next poll.
      await services.probe.testLists.reload();
      io.out(
        `${JSON.stringify({ loaded: true, files: result.files.length, rows: result.rows, countries: result.countries, skipped: result.problems.length, database: services.db.description })}\n`,
      );
      return 0;
    } catch (err) {
      if (err instanceof TestListDirError) {
        io.err(`error: ${err.message}\n`);
        return 66; // EX_NOINPUT
      }
      throw err;
    }
  },
};
