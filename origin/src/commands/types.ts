/** One `npm run cli -- <name>` command. `run` returns the exit code (default 0). */
export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number | void>;
}
