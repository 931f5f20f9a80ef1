// The operations to fuzz, enumerated from the app itself: every operation of the OpenAPI document
// the app generates, plus the few routes mounted outside OpenAPI, listed here by hand. The coverage
// test compares this list with the routes Hono has registered, so a new route cannot go unfuzzed.

export interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: Record<string, any>;
}

export interface Operation {
  method: string;
  /** OpenAPI path template, e.g. /report/{report_id}. */
  path: string;
  parameters: Parameter[];
  /** JSON schema of an application/json request body, if the operation takes one. */
  body: Record<string, any> | null;
  secured: boolean;
  openapi: boolean;
}

/** Routes registered on the app that the OpenAPI document may not describe. */
export const NON_OPENAPI: Operation[] = [
  // Served to every crawler, including the edge's own (plain text by design).
  { method: "GET", path: "/robots.txt", parameters: [], body: null, secured: false, openapi: false },
];

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

export function operationsOf(doc: Record<string, any>): Operation[] {
  const ops: Operation[] = [];
  for (const [p, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [m, op] of Object.entries(item)) {
      if (!METHODS.includes(m)) continue;
      const body = op.requestBody?.content?.["application/json"]?.schema ?? null;
      ops.push({
        method: m.toUpperCase(),
        path: p,
        parameters: (op.parameters ?? []) as Parameter[],
        body,
        secured: Array.isArray(op.security) && op.security.length > 0,
        openapi: true,
      });
    }
  }
  // A route that later gained an OpenAPI description is listed once, not twice.
  const described = new Set(ops.map((o) => `${o.method} ${o.path}`));
  return [...ops, ...NON_OPENAPI.filter((o) => !described.has(`${o.method} ${o.path}`))];
}

/** Hono's spelling of an OpenAPI path template: /report/{report_id} → /report/:report_id. */
export function honoPath(openapiPath: string): string {
  return openapiPath.replace(/\{([^}]+)\}/g, ":$1");
}
