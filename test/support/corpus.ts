import { existsSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "./origin-process";

/** The shared real-data corpus, read in place; tests skip cleanly when it is absent. */
export const corpusDir = path.resolve(process.env.OONI_CORPUS_DIR ?? path.join(repoRoot, "../shared/corpus"));
export const corpusAvailable = existsSync(path.join(corpusDir, "README.md"));
export function corpusPath(...parts: string[]) {
  return path.join(corpusDir, ...parts);
}
