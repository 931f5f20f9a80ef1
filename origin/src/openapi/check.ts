import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { repoRoot } from "../config";
import { openApiDocument, serializeDocument } from "./document";
import { offlineApp } from "./offline-app";
import { diffDocuments, undocumentedRoutes } from "./spec-diff";

// `npm run openapi:check`: is docs/openapi.json what the routes generate, and is every route in
// it? `npm run openapi:write` regenerates the file. `--file F` compares against another file.

export const COMMITTED_SPEC = path.join(repoRoot, "docs/openapi.json");

export function checkSpec(file = COMMITTED_SPEC): { ok: boolean; report: string } {
  const app = offlineApp();
  const generated = openApiDocument(app);
  const problems: string[] = [];
  const missing = undocumentedRoutes(app, generated as { paths?: Record<string, Record<string, unknown>> });
  if (missing.length) {
    problems.push(
      `routes served but missing from the OpenAPI document (declare them with createRoute, or registerPath for a plain route):\n` +
        missing.map((m) => `  ${m}`).join("\n"),
    );
  }
  let committedText: string | null = null;
  try {
    committedText = readFileSync(file, "utf8");
  } catch {
    problems.push(`${path.relative(repoRoot, file)} does not exist`);
  }
  if (committedText !== null && committedText !== serializeDocument(generated)) {
    let committed: unknown = null;
    try {
      committed = JSON.parse(committedText);
    } catch {
      /* reported as a whole-file change below */
    }
    const diffs = diffDocuments(committed, generated);
    problems.push(
      `${path.relative(repoRoot, file)} is out of date with the routes; differences (committed → generated):\n` +
        (diffs.length ? diffs.map((d) => `  ${d}`).join("\n") : "  formatting only"),
    );
  }
  if (!problems.length) return { ok: true, report: `${path.relative(repoRoot, file)} is up to date` };
  return { ok: false, report: `${problems.join("\n\n")}\n\nRun \`npm run openapi:write\` and commit docs/openapi.json.` };
}

export function writeSpec(file = COMMITTED_SPEC): void {
  writeFileSync(file, serializeDocument(openApiDocument(offlineApp())));
}

if (process.argv[1]?.endsWith("/origin/src/openapi/check.ts")) {
  const { values } = parseArgs({ options: { write: { type: "boolean" }, file: { type: "string" } } });
  const file = values.file ? path.resolve(values.file) : COMMITTED_SPEC;
  if (values.write) {
    writeSpec(file);
    process.stdout.write(`wrote ${path.relative(repoRoot, file)}\n`);
  } else {
    const { ok, report } = checkSpec(file);
    (ok ? process.stdout : process.stderr).write(`${report}\n`);
    process.exitCode = ok ? 0 : 1;
  }
}
