import { parseArgs } from "node:util";
import type { ServicesCommand } from "../commands/types";
import { UploaderBusyError } from "./lock";
import { runUploader } from "./uploader";

// `npm run cli -- uploader run [--all]`: one uploader pass (docs/archive.md). Runs inside the
// origin through its admin socket when `npm start` is up, else in this process.

const USAGE = "uploader run [--all]";

export const uploaderCommand: ServicesCommand = {
  summary: "archive the spool to the blob store (postcans + JSONL) and index it; --all includes the current hour",
  usage: USAGE,
  needsServices: true,
  async runWith(services, args, io, signal) {
    let parsed;
    try {
      parsed = parseArgs({ args, allowPositionals: true, options: { all: { type: "boolean", default: false } } });
    } catch (err) {
      io.err(`${(err as Error).message}\nusage: npm run cli -- ${USAGE}\n`);
      return 2;
    }
    if (parsed.positionals.length !== 1 || parsed.positionals[0] !== "run") {
      io.err(`usage: npm run cli -- ${USAGE}\n`);
      return 2;
    }
    let report;
    try {
      report = await runUploader(services, { all: parsed.values.all, signal });
    } catch (err) {
      if (err instanceof UploaderBusyError) {
        io.err(`${err.message}\n`);
        return 75; // EX_TEMPFAIL: try again later
      }
      throw err;
    }
    for (const r of report.archived) {
      io.out(
        `${r.hourDir}: ${r.measurements} measurement(s), ${r.files} file(s), ${r.storedBytes} bytes stored` +
          `${r.resumed ? " (finished an interrupted run)" : ""}\n`,
      );
    }
    for (const f of report.failed) io.err(`${f.hourDir}: not archived: ${f.error}\n`);
    if (!report.archived.length && !report.failed.length) io.out("nothing to archive\n");
    return report.failed.length ? 1 : 0;
  },
};
