import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import defaultToml from "../../bridge-config/bridge.toml?raw";
import productionToml from "../../bridge-config/examples/production.toml?raw";
import { BridgeConfigError, parseBridgeConfigToml, renderWorkerConfig } from "../../bridge-config/parse";
import worker from "../../edge/src/index";
import type { EdgeEnv } from "../../edge/src/env";

// The bridge configuration format (version 1): the files we ship parse, mistakes are named, and a
// Worker with a broken BRIDGE_CONFIG says so in JSON while robots.txt keeps working.

function problems(toml: string): string[] {
  try {
    parseBridgeConfigToml(toml, "test.toml");
  } catch (err) {
    if (err instanceof BridgeConfigError) return err.problems;
    throw err;
  }
  return [];
}

const MIN = 'version = 1\n[origin]\nurl = "https://origin.example.org"\n';

describe("bridge configuration files", () => {
  it("parses the default file (the local stack) with every default filled in", () => {
    const c = parseBridgeConfigToml(defaultToml, "bridge.toml");
    expect(c.name).toBe("local");
    expect(c.helpers.pool.map((h) => [h.id, h.url, h.weight])).toEqual([
      ["local-0", "http://127.0.0.1:8790", 1],
      ["local-1", "http://127.0.0.1:8791", 1],
    ]);
    expect(c.helpers).toMatchObject({ client_prefix_v4: 24, client_prefix_v6: 48, max_body_bytes: 16 * 1024 * 1024, hostnames: ["*.th.localhost"] });
    expect(c.cache.routes.map((r) => r.prefix)).toEqual(
      expect.arrayContaining(["/api/v1/aggregation", "/api/_/", "/api/v1/measurements", "/api/v1/raw_measurement", "/api/v1/measurement"]),
    );
    expect(c.admin).toEqual({});
  });

  it("parses the production example: a canary at a third of the others' weight", () => {
    const c = parseBridgeConfigToml(productionToml, "production.toml");
    const total = c.helpers.pool.reduce((s, h) => s + h.weight, 0);
    expect(c.helpers.pool.find((h) => h.id === "th-0-canary")!.weight / total).toBeCloseTo(0.1, 6);
  });

  it("round-trips through the Worker's JSON binding unchanged", () => {
    const c = parseBridgeConfigToml(defaultToml);
    expect(JSON.parse(renderWorkerConfig(c))).toEqual(c);
  });

  it("names each mistake by its setting", () => {
    expect(problems("version = 2\n")).toEqual(expect.arrayContaining(["version: Invalid input: expected 1", expect.stringMatching(/^origin: /)]));
    expect(problems(`${MIN}[helpers]\nclient_prefix_v4 = 40\n`)).toEqual(["helpers.client_prefix_v4: Too big: expected number to be <=32"]);
    expect(problems(`${MIN}[helpers]\nmax_body_bytes = 16777217\n`)).toEqual(["helpers.max_body_bytes: Too big: expected number to be <=16777216"]);
    expect(problems(`${MIN}[[helpers.pool]]\nid = "a"\nurl = "https://a.example/th"\nweight = 1\n`)).toEqual([
      "helpers.pool.0.url: must be scheme://host[:port] without a path, query or credentials",
    ]);
    expect(problems('version = 1\n[origin]\nurl = "not a url"\n')).toEqual(["origin.url: Invalid URL"]);
    expect(problems(`${MIN}[[helpers.pool]]\nid = "a"\nurl = "https://a.example"\nweight = -1\n`)).toEqual(["helpers.pool.0.weight: Too small: expected number to be >=0"]);
    expect(
      problems(`${MIN}[[helpers.pool]]\nid = "a"\nurl = "https://a.example"\nweight = 1\n[[helpers.pool]]\nid = "a"\nurl = "https://b.example"\nweight = 1\n`),
    ).toEqual(["helpers.pool: helper ids must be unique"]);
    expect(problems(`${MIN}[helpers]\nhostnames = ["*.TH.example.org"]\n`)).toEqual(["helpers.hostnames.0: a lowercase hostname, optionally starting with *."]);
    expect(problems(`${MIN}[admin]\nstatus_token = "short"\n`)).toEqual(["admin.status_token: Too small: expected string to have >=16 characters"]);
    expect(problems(`${MIN}[admin]\nstatus_token = "same-token-0123456789"\npurge_token = "same-token-0123456789"\n`)).toEqual(["admin: status_token and purge_token must differ"]);
    expect(problems(`${MIN}[cache]\nrouts = []\n`)).toEqual(['cache: Unrecognized key: "routs"']);
    expect(problems(`${MIN}[origin]\n`)).toEqual([expect.stringMatching(/^not valid TOML \(line 4, column \d+\)/)]);
  });
});

describe("a Worker with a broken configuration", () => {
  async function call(bridgeConfig: string | undefined, url: string, method = "POST") {
    const e = { ...(env as unknown as EdgeEnv), BRIDGE_CONFIG: bridgeConfig, ORIGIN_URL: undefined } as EdgeEnv;
    return worker.fetch(new Request(url, method === "POST" ? { method, body: "{}" } : { method }), e, createExecutionContext());
  }

  it("answers 503 JSON naming the problem, and still serves robots.txt", async () => {
    const missing = await call(undefined, "https://x.example/");
    expect(missing.status).toBe(503);
    expect(await missing.json()).toEqual({ error: "bridge misconfigured", detail: "BRIDGE_CONFIG is not set", problems: [] });

    const invalid = await call(JSON.stringify({ version: 1, origin: { url: "ftp://x" } }), "https://x.example/api/v1/aggregation");
    expect(invalid.status).toBe(503);
    expect(await invalid.json()).toMatchObject({ error: "bridge misconfigured", detail: "BRIDGE_CONFIG is invalid", problems: ["origin.url: Invalid URL"] });

    const status = await call("{", "https://x.example/__bridge/status", "GET");
    expect(status.status).toBe(503);
    expect(await status.json()).toMatchObject({ error: "bridge misconfigured", detail: "BRIDGE_CONFIG is not JSON" });

    const robots = await worker.fetch(new Request("https://x.example/robots.txt"), { ...(env as unknown as EdgeEnv), BRIDGE_CONFIG: "{" } as EdgeEnv, createExecutionContext());
    expect(robots.status).toBe(200);
    expect(await robots.text()).toContain("User-agent: *");
  });
});
