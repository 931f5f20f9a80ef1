import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { SwaggerUI } from "@hono/swagger-ui";
import { ROBOTS_MAX_AGE_S } from "#shared/robots";
import { createRouter } from "../http/router";
import { sendCacheable, staticLifetime } from "../http/cache-policy";
import { openApiDocument, serializeDocument } from "./document";

// The API documenting itself: the OpenAPI document at /apispec.json (and the legacy
// /apispec_1.json), and Swagger UI at /apidocs with its assets served from the swagger-ui-dist
// package (no CDN: the page must work on an isolated network).

const tags = ["documentation"];
const SpecSchema = z.record(z.string(), z.unknown()).openapi({ description: "OpenAPI 3.1 document" });

const spec = createRoute({
  method: "get",
  path: "/apispec.json",
  tags,
  summary: "This API's OpenAPI 3.1 document",
  responses: {
    200: { description: "The document", content: { "application/json": { schema: SpecSchema } } },
    304: { description: "Not modified" },
  },
});
const specLegacy = createRoute({ ...spec, path: "/apispec_1.json", summary: "The same document at the legacy API's address" });

const page = createRoute({
  method: "get",
  path: "/apidocs",
  tags,
  summary: "Swagger UI for this API",
  responses: {
    200: { description: "HTML page", content: { "text/html": { schema: z.string() } } },
    304: { description: "Not modified" },
  },
});

const ASSETS = { "swagger-ui.css": "text/css; charset=utf-8", "swagger-ui-bundle.js": "text/javascript; charset=utf-8" } as const;
type Asset = keyof typeof ASSETS;
const asset = createRoute({
  method: "get",
  path: "/apidocs/swagger-ui-dist/{file}",
  tags,
  summary: "Swagger UI's own assets",
  request: { params: z.object({ file: z.enum(Object.keys(ASSETS) as [Asset, ...Asset[]]) }) },
  responses: {
    200: { description: "The file", content: { "text/css": { schema: z.string() }, "text/javascript": { schema: z.string() } } },
    304: { description: "Not modified" },
    400: { description: "Unknown file", content: { "application/json": { schema: z.object({ error: z.string() }) } } },
  },
});

const distDir = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const assetCache = new Map<Asset, string>();
function readAsset(file: Asset): string {
  let body = assetCache.get(file);
  if (body === undefined) assetCache.set(file, (body = readFileSync(path.join(distDir, file), "utf8")));
  return body;
}

function pageHtml(): string {
  // @hono/swagger-ui renders the markup; baseUrl points its asset links at the route above.
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>OONI API</title></head>
<body>${SwaggerUI({ url: "/apispec.json", baseUrl: "/apidocs" })}</body>
</html>
`;
}

const HOUR = 3600;

/**
 * `getApp` returns the root app: the document covers every route mounted on it, including routes
 * mounted after this router.
 */
export function apiDocsRoutes(getApp: () => OpenAPIHono<any>) {
  const app = createRouter();
  let cached: string | null = null;
  const document = () => (cached ??= serializeDocument(openApiDocument(getApp())));

  app.openapi(spec, (c) => sendCacheable(c, document(), "application/json", staticLifetime(HOUR)));
  app.openapi(specLegacy, (c) => sendCacheable(c, document(), "application/json", staticLifetime(HOUR)));
  app.openapi(page, (c) => sendCacheable(c, pageHtml(), "text/html; charset=utf-8", staticLifetime(HOUR)));
  app.openapi(asset, (c) => {
    const { file } = c.req.valid("param");
    return sendCacheable(c, readAsset(file), ASSETS[file], staticLifetime(24 * HOUR));
  });

  // Routes app.ts serves without createRoute, described here so the document stays complete.
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/robots.txt",
    tags: ["operations"],
    summary: `Crawler rules (cacheable for ${ROBOTS_MAX_AGE_S} s)`,
    responses: { 200: { description: "robots.txt", content: { "text/plain": { schema: z.string() } } } },
  });
  return app;
}
