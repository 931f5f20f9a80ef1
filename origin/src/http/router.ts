import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { jsonError } from "./errors";

// Every origin route is declared with createRoute + zod schemas, so request validation and the
// OpenAPI document come from one definition. A validation failure becomes our standard 400 JSON
// naming the offending parameter, never zod's raw error object.
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const issue = result.error.issues[0];
      const param = issue?.path.map(String).join(".") || "body";
      return jsonError(c, 400, `invalid ${param}: ${issue?.message ?? "invalid input"}`, {
        parameter: param,
        ...(result.target ? { in: result.target } : {}),
      });
    },
  });
}

export type Router = ReturnType<typeof createRouter>;
