import type { Services } from "../services";

/** One `npm run cli -- <name>` command. `run` returns the exit code (default 0). */
export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number | void>;
}

/** Where a command writes what the user reads (stdout/stderr locally, the admin socket remotely). */
export interface CommandOutput {
  out(text: string): void;
  err(text: string): void;
  /** Whether progress bars may redraw a line (a TTY); remote runs get plain lines. */
  readonly interactive: boolean;
}

/**
 * A command that needs the origin's state (database, blob store, spool, GeoIP). The CLI runs it in
 * its own process when the embedded database is free, or hands it to the running origin over the
 * admin socket ($DATA_DIR/admin.sock) when `npm start` owns the database — same code, same output.
 */
export interface ServicesCommand {
  summary: string;
  usage: string;
  needsServices: true;
  runWith(services: Services, args: string[], io: CommandOutput, signal: AbortSignal): Promise<number | void>;
}
