import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createRoute, z } from "@hono/zod-openapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRouter } from "../../../origin/src/http/router";
import { COMMITTED_SPEC, checkSpec, writeSpec } from "../../../origin/src/openapi/check";
import { openApiDocument, serializeDocument } from "../../../origin/src/openapi/document";
import { offlineApp } from "../../../origin/src/openapi/offline-app";
import { diffDocuments, undocumentedRoutes } from "../../../origin/src/openapi/spec-diff";
import { repoRoot } from "../../support/origin-process";
import { startInProcessOrigin, type InProcessOrigin } from "../stats/in-process";

// docs/openapi.json must be what the route definitions generate, and must describe every route the
// origin answers. When this fails: `npm run openapi:write`, review the diff, commit.

describe("docs/openapi.json", () => {
  it("is up to date with the routes (else: npm run openapi:write)", () => {
    const { ok, report } = checkSpec();
    expect(ok, report).toBe(true);
  });

  it("describes every route the origin serves", () => {
    const app = offlineApp();
    expect(undocumentedRoutes(app, openApiDocument(app) as never)).toEqual([]);
  });

  it("has only patterns a client can use: valid regular expressions without regex flags", () => {
    // A zod regex with a flag (/…/i) was rendered as "^AS[0-9]{1,10}$/i", a pattern nothing
    // matches (found by the schema-driven fuzzer, which could not generate a value for it).
    const patterns: string[] = [];
    JSON.stringify(openApiDocument(offlineApp()), (k, v) => {
      if (k === "pattern" && typeof v === "string") patterns.push(v);
      return v;
    });
    expect(patterns.length).toBeGreaterThan(10);
    for (const p of patterns) {
      expect(() => new RegExp(p, "u"), p).not.toThrow();
      expect(p, p).not.toMatch(/\$\/[a-z]+$/);
    }
  });

  it("is OpenAPI 3.1 and documents the Explorer API's parameters and shapes", () => {
    const doc = JSON.parse(readFileSync(COMMITTED_SPEC, "utf8"));
    expect(doc.openapi).toBe("3.1.0");
    const agg = doc.paths["/api/v1/aggregation"].get;
    expect(agg.parameters.map((p: { name: string }) => p.name).sort()).toEqual(
      ["axis_x", "axis_y", "category_code", "domain", "download", "format", "input", "ooni_run_link_id", "probe_asn", "probe_cc", "since", "test_name", "time_grain", "until"].sort(),
    );
    expect(Object.keys(agg.responses.sort ? {} : agg.responses)).toEqual(expect.arrayContaining(["200", "304", "400", "504"]));
    expect(Object.keys(agg.responses["200"].content)).toEqual(["application/json", "text/csv"]);
    for (const name of ["Aggregation", "AggregationRow", "ExplorerError", "TestCoverage", "ImNetworks", "CircumventionRuntimeStats", "TorsfStats"]) {
      expect(doc.components.schemas, name).toHaveProperty(name);
    }
    const statsPaths = Object.keys(doc.paths).filter((p) => p.startsWith("/api/_/"));
    expect(statsPaths).toEqual(
      expect.arrayContaining(
        ["asn_by_month", "countries_by_month", "test_names", "countries", "test_coverage", "website_networks", "website_stats", "website_urls", "vanilla_tor_stats", "im_networks", "im_stats", "network_stats", "country_overview", "global_overview", "global_overview_by_month", "circumvention_stats_by_country", "circumvention_runtime_stats", "domain_metadata", "asnmeta", "networks", "domains", "check_report_id"].map((n) => `/api/_/${n}`),
      ),
    );
  });
});

// These compare against a freshly generated document, so they hold whether or not the committed
// file is current (the first test above says that).
describe("the check catches a route changed without the spec", () => {
  const generated = () => openApiDocument(offlineApp());

  it("a new createRoute route shows up as an added path", () => {
    const app = offlineApp();
    const extra = createRouter();
    extra.openapi(
      createRoute({ method: "get", path: "/api/v1/new_thing", responses: { 200: { description: "x", content: { "application/json": { schema: z.object({ a: z.string() }) } } } } }),
      (c) => c.json({ a: "b" }, 200),
    );
    app.route("/", extra);
    expect(diffDocuments(generated(), openApiDocument(app))).toEqual(["/paths/~1api~1v1~1new_thing: added"]);
  });

  it("a changed parameter shows up where it changed", () => {
    const doc = structuredClone(generated()) as any;
    doc.paths["/api/v1/aggregation"].get.parameters[0].schema.maxLength = 1;
    const diffs = diffDocuments(doc, generated());
    expect(diffs).toEqual(["/paths/~1api~1v1~1aggregation/get/parameters/0/schema/maxLength: changed"]);
  });

  it("a plain route without documentation is reported", () => {
    const app = offlineApp();
    app.get("/secret-thing/:id", (c) => c.text("x"));
    expect(undocumentedRoutes(app, openApiDocument(app) as never)).toEqual(["GET /secret-thing/:id"]);
  });

  it("npm run openapi:check exits non-zero with a clear message on a stale file, zero when current", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ooni-edge-spec-"));
    try {
      const current = path.join(dir, "current.json");
      writeSpec(current);
      const stale = JSON.parse(readFileSync(current, "utf8"));
      stale.paths["/api/_/countries"].get.summary = "something else";
      delete stale.paths["/api/_/asnmeta"];
      const file = path.join(dir, "openapi.json");
      writeFileSync(file, JSON.stringify(stale, null, 2));
      const run = promisify(execFile);
      const cli = (f: string) =>
        run(process.execPath, ["--import", "tsx", path.join(repoRoot, "origin/src/openapi/check.ts"), "--file", f], { cwd: repoRoot });
      const err = await cli(file).then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      );
      expect(err?.code).toBe(1);
      expect(err?.stderr).toContain("is out of date with the routes");
      expect(err?.stderr).toContain("/paths/~1api~1_~1asnmeta: added");
      expect(err?.stderr).toContain("/paths/~1api~1_~1countries/get/summary: changed");
      expect(err?.stderr).toContain("npm run openapi:write");
      const good = await cli(current);
      expect(good.stdout).toContain("up to date");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("served documentation", () => {
  let o: InProcessOrigin;
  beforeAll(async () => {
    o = await startInProcessOrigin();
  });
  afterAll(async () => {
    await o?.close();
  });

  it("/apispec.json and /apispec_1.json serve the generated document, cacheable with an ETag", async () => {
    const committed = serializeDocument(openApiDocument(offlineApp()));
    for (const p of ["/apispec.json", "/apispec_1.json"]) {
      const r = await o.get(p);
      expect(r.status).toBe(200);
      expect(r.text).toBe(committed);
      expect(r.headers.get("cache-control")).toBe("public, max-age=3600");
      expect((await o.get(p, { "If-None-Match": r.headers.get("etag")! })).status).toBe(304);
    }
  });

  it("/apidocs loads Swagger UI from this origin only", async () => {
    const r = await o.get("/apidocs");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/html/);
    const refs = [...r.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(refs.sort()).toEqual(["/apidocs/swagger-ui-dist/swagger-ui-bundle.js", "/apidocs/swagger-ui-dist/swagger-ui.css"]);
    expect(r.text).toContain("/apispec.json");
    const css = await o.get("/apidocs/swagger-ui-dist/swagger-ui.css");
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toMatch(/^text\/css/);
    expect(css.text).toContain(".swagger-ui");
    const js = await o.get("/apidocs/swagger-ui-dist/swagger-ui-bundle.js");
    expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(js.text.length).toBeGreaterThan(100_000);
    const bad = await o.get("/apidocs/swagger-ui-dist/..%2Fpackage.json");
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ parameter: "file" });
  });
});
