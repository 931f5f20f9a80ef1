import { readFileSync } from "node:fs";
import path from "node:path";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { openApiDocument } from "../../../origin/src/openapi/document";

// The origin's operations, enumerated from its own OpenAPI document (generated from the createRoute
// definitions that validate requests), so a route added later is attacked without editing a list.
// enumerateRoutes() also checks the document against hono's route table: a route served without a
// createRoute definition would otherwise escape every table-driven test.

export interface Param {
  name: string;
  in: "query" | "path" | "header" | "cookie";
  required: boolean;
  schema: Record<string, unknown>;
}

export interface Operation {
  method: string; // upper case
  path: string; // OpenAPI form: /api/v1/measurement/{measurement_uid}
  params: Param[];
  hasBody: boolean;
  /** "bearer" (account session), "probe" (probe token) or null (public). */
  auth: "bearer" | "probe" | null;
}

type Doc = { paths: Record<string, Record<string, { parameters?: Param[]; requestBody?: unknown; security?: Record<string, unknown>[] }>> };

export function enumerateRoutes(app: OpenAPIHono<any>): Operation[] {
  const doc = openApiDocument(app) as unknown as Doc;
  const ops: Operation[] = [];
  for (const [p, methods] of Object.entries(doc.paths)) {
    for (const [m, op] of Object.entries(methods)) {
      const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
      ops.push({
        method: m.toUpperCase(),
        path: p,
        params: op.parameters ?? [],
        hasBody: op.requestBody !== undefined,
        auth: schemes.includes("bearerAuth") ? "bearer" : schemes.includes("probeToken") ? "probe" : null,
      });
    }
  }
  // Every concrete route hono serves must be in the document (middleware entries are method ALL).
  const documented = new Set(ops.map((o) => `${o.method} ${o.path.replace(/\{(\w+)\}/g, ":$1")}`));
  const missing = app.routes
    .filter((r) => r.method !== "ALL" && !r.path.includes("*"))
    .map((r) => `${r.method} ${r.path}`)
    .filter((k) => !documented.has(k) && !k.startsWith("HEAD "));
  if (missing.length) throw new Error(`routes served but not in the OpenAPI document: ${[...new Set(missing)].join(", ")}`);
  return ops;
}

/** Fills path parameters: `values[name]` or a plausible default. */
export function fillPath(op: Operation, values: Record<string, string>): string {
  return op.path.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? "x");
}

export const key = (op: Pick<Operation, "method" | "path">) => `${op.method} ${op.path}`;

/**
 * The same enumeration from the committed docs/openapi.json, for tests that talk to an origin
 * process and have no app object (test/origin/openapi/spec-up-to-date.test.ts keeps the file equal
 * to what the app generates).
 */
export function routesFromCommittedDocument(): Operation[] {
  const doc = JSON.parse(readFileSync(path.join(import.meta.dirname, "../../../docs/openapi.json"), "utf8")) as Doc;
  return Object.entries(doc.paths).flatMap(([p, methods]) =>
    Object.entries(methods).map(([m, op]) => {
      const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
      return {
        method: m.toUpperCase(),
        path: p,
        params: op.parameters ?? [],
        hasBody: op.requestBody !== undefined,
        auth: schemes.includes("bearerAuth") ? "bearer" : schemes.includes("probeToken") ? "probe" : null,
      } satisfies Operation;
    }),
  );
}
