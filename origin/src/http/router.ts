import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { jsonError } from "./errors";
import { validationError } from "./validation-error";

// Every origin route is declared with createRoute + zod schemas, so request validation and the
// OpenAPI document come from one definition. A validation failure becomes our standard 400 JSON
// naming the offending parameter, never zod's raw error object.
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const { error, extra } = validationError(result.error.issues, result.target);
      return jsonError(c, 400, error, extra);
    },
  });
}

export type Router = ReturnType<typeof createRouter>;
