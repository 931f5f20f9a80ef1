import type { OpenAPIHono } from "@hono/zod-openapi";
import { VERSION } from "../version";

// The API's OpenAPI 3.1 document, generated from the route definitions (createRoute + zod) that
// validate requests, so it cannot drift from what the origin enforces. The maps whose order means
// nothing (paths, components) are sorted, so the order routers are mounted in does not matter.

type AnyApp = Pick<OpenAPIHono, "getOpenAPI31Document">;
type Json = Record<string, unknown>;

function sortKeys<T>(o: T): T {
  if (!o || typeof o !== "object" || Array.isArray(o)) return o;
  return Object.fromEntries(Object.entries(o as Json).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as T;
}

export function openApiDocument(app: AnyApp): Json {
  const doc = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "OONI API (ooni-edge origin)",
      version: VERSION,
      description:
        "Probe services, measurement intake and the Explorer read API of the ooni-edge origin. Parameter " +
        "errors are 400 JSON `{error, parameter}`; a query over its time limit is 504 JSON; cacheable " +
        "responses carry Cache-Control and an ETag (see docs/caching.md).",
      license: { name: "BSD-3-Clause", url: "https://opensource.org/license/bsd-3-clause" },
    },
  }) as unknown as Json;
  const paths = sortKeys(doc.paths as Json);
  for (const [p, ops] of Object.entries(paths)) paths[p] = sortKeys(ops);
  const components = doc.components as Json | undefined;
  const sortedComponents = components
    ? Object.fromEntries(Object.entries(sortKeys(components)).map(([k, v]) => [k, sortKeys(v)]))
    : undefined;
  return { ...doc, paths, ...(sortedComponents ? { components: sortedComponents } : {}) };
}

/** The committed form: two-space JSON with a final newline. */
export function serializeDocument(doc: Json): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
