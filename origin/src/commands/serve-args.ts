import { parseArgs, type ParseArgsConfig } from "node:util";
import type { z } from "zod";

// The `<command> serve [--flag VALUE …]` argument handling shared by the commands that run a
// server process: string flags from parseArgs, validated by the command's zod schema. Bad input
// is reported on stderr the same way for every command, and the caller exits 2.

/** The validated flags, or null once the usage or the first invalid flag has been written to stderr. */
export function parseServeArgs<S extends z.ZodType>(
  argv: string[],
  usage: string,
  options: NonNullable<ParseArgsConfig["options"]>,
  schema: S,
): z.infer<S> | null {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options });
  if (positionals[0] !== "serve") {
    process.stderr.write(`usage: npm run cli -- ${usage}\n`);
    return null;
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    process.stderr.write(`error: --${String(issue.path[0])}: ${issue.message}\n`);
    return null;
  }
  return parsed.data;
}
