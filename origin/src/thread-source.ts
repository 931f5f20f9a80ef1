import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

/**
 * How to start a worker thread on a module (the fastpath's scoring threads, the intake's parse
 * threads). The origin runs TypeScript through tsx; a worker thread does not inherit tsx's module
 * hooks on Node 20, so a .ts entry is loaded by a tiny bootstrap that registers tsx inside the
 * thread first.
 */
export function threadSource(entry: URL): { source: string | URL; eval: boolean } {
  if (!entry.pathname.endsWith(".ts")) return { source: entry, eval: false };
  const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
  let api: string;
  if (typeof resolve === "function") {
    api = resolve("tsx/esm/api");
  } else {
    // Test runners that rewrite import.meta: the package's ESM entry, found next to its CJS one.
    api = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href;
  }
  const source =
    `import(${JSON.stringify(api)})` +
    `.then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })` +
    `.catch((err) => { console.error(err); process.exit(70); });`;
  return { source, eval: true };
}
