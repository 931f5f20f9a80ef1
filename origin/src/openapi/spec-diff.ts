import type { Hono } from "hono";

// Comparing the generated document with the committed one, and checking that every route the app
// answers is in the document. Both report in words a person can act on.

type Json = unknown;

/** Locations (JSON pointers) where two documents differ, at most `limit` of them. */
export function diffDocuments(committed: Json, generated: Json, limit = 25): string[] {
  const out: string[] = [];
  const walk = (a: Json, b: Json, at: string) => {
    if (out.length >= limit) return;
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    const objects = a && b && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b);
    if (!objects) {
      out.push(`${at || "/"}: ${a === undefined ? "added" : b === undefined ? "removed" : "changed"}`);
      return;
    }
    const ao = a as Record<string, Json>;
    const bo = b as Record<string, Json>;
    for (const k of [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort()) {
      walk(ao[k], bo[k], `${at}/${k.replaceAll("~", "~0").replaceAll("/", "~1")}`);
    }
  };
  walk(committed, generated, "");
  return out;
}

/** "GET /api/v1/x" for every route the app serves that the document does not describe. */
export function undocumentedRoutes(app: Pick<Hono, "routes">, doc: { paths?: Record<string, Record<string, unknown>> }): string[] {
  const missing = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue; // middleware
    const path = r.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}");
    if (!doc.paths?.[path]?.[r.method.toLowerCase()]) missing.add(`${r.method} ${r.path}`);
  }
  return [...missing].sort();
}
