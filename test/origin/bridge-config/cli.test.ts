import { parse as parseToml } from "smol-toml";
import { afterEach, describe, expect, it } from "vitest";
import { Workspace, type Result } from "./cli-harness";

// The operator CLI end to end: each command run as a process on a copy of the configuration. A
// refused command exits non-zero with one message on stderr and leaves both files byte for byte.

const spaces: Workspace[] = [];
afterEach(() => {
  for (const w of spaces.splice(0)) w.cleanup();
});
function workspace(source?: string): Workspace {
  const w = new Workspace(source);
  spaces.push(w);
  return w;
}

function ok(r: Result): string {
  expect(r.stderr, r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout;
}

/** The command fails with `message` as its first stderr line, and neither file changed. */
function refused(w: Workspace, args: string[], message: RegExp, code = 1) {
  const before = [w.read("config"), w.read("wrangler")];
  const r = w.run(...args);
  expect(r.code, `${args.join(" ")}: ${r.stdout}${r.stderr}`).toBe(code);
  expect(r.stdout).toBe("");
  expect(r.stderr.split("\n")[0]).toMatch(message);
  expect([w.read("config"), w.read("wrangler")]).toEqual(before);
  return r.stderr;
}

describe("npm run bridge -- check / render", () => {
  it("the committed wrangler.toml is the render of bridge-config/bridge.toml", () => {
    const w = workspace();
    expect(ok(w.run("check"))).toMatch(/^ok: /);
    expect(ok(w.run("render"))).toMatch(/is up to date/);
    const vars = parseToml(w.read("wrangler")) as { vars: { BRIDGE_CONFIG: string }; routes?: unknown };
    expect(JSON.parse(vars.vars.BRIDGE_CONFIG)).toMatchObject({ version: 1, name: "local", admin: {} });
    expect(vars.routes).toBeUndefined();
  });

  it("detects a hand edit to the generated part, and a configuration changed without render", () => {
    const w = workspace();
    w.write("wrangler", w.read("wrangler").replace('"name": "local"', '"name": "edited"'));
    refused(w, ["check"], /lines \d+–\d+: the generated part was edited by hand: move the change into .*bridge\.toml and run npm run bridge -- render/);
    // render puts it back, and says what it changed.
    const diff = ok(w.run("render"));
    expect(diff).toContain('-  "name": "edited",');
    expect(diff).toContain('+  "name": "local",');
    ok(w.run("check"));

    ok(w.run("add-helper", "th-x", "https://x.example.org"));
    refused(w, ["check"], /is out of date with .*bridge\.toml: run npm run bridge -- render$/);
  });

  it("refuses a wrangler.toml whose markers are broken", () => {
    const w = workspace();
    w.write("wrangler", w.read("wrangler").replace(/^# END GENERATED.*$/m, ""));
    refused(w, ["check"], /markers are broken/);
    refused(w, ["render"], /markers are broken/);
  });

  it("names the file and the field of an invalid configuration", () => {
    const w = workspace();
    w.write("config", w.read("config").replace('id = "local-1"\nurl = "http://127.0.0.1:8791"\nweight = 1', 'id = "local-1"\nurl = "http://127.0.0.1:8791"\nweight = -1'));
    const err = refused(w, ["check"], /^bridge check: bridge configuration .*bridge\.toml is invalid:$/);
    expect(err).toContain("  - helpers.pool.1.weight: Too small: expected number to be >=0");
    refused(w, ["render"], /bridge\.toml is invalid/);
  });
});

describe("domains", () => {
  it("add-zone, add-domain (IDNA to punycode), render, list, remove-domain", () => {
    const w = workspace();
    expect(ok(w.run("add-zone", "Example.NET"))).toContain("added zone example.net");
    expect(ok(w.run("add-domain", "Bücher.example.net"))).toContain("xn--bcher-kva.example.net");
    ok(w.run("add-domain", "*.th.example.net", "--zone", "example.net"));
    const file = parseToml(w.read()) as { zones: unknown[]; domains: unknown[] };
    expect(file.zones).toEqual([{ name: "example.net" }]);
    expect(file.domains).toEqual([
      { name: "xn--bcher-kva.example.net", zone: "example.net" },
      { name: "*.th.example.net", zone: "example.net" },
    ]);
    // The rest of the file (comments included) is as it was.
    expect(w.read()).toContain("# Bridge configuration, format version 1");

    const diff = ok(w.run("render"));
    expect(diff).toContain('+pattern = "xn--bcher-kva.example.net/*"');
    expect(diff).toContain('+pattern = "*.th.example.net/*"');
    const wrangler = parseToml(w.read("wrangler")) as { routes: unknown[] };
    expect(wrangler.routes).toEqual([
      { pattern: "xn--bcher-kva.example.net/*", zone_name: "example.net" },
      { pattern: "*.th.example.net/*", zone_name: "example.net" },
    ]);
    expect(ok(w.run("check"))).toContain('warning: helpers.hostnames.0: "*.th.localhost" has no route');
    expect(ok(w.run("list"))).toContain("routes: xn--bcher-kva.example.net/* on example.net, *.th.example.net/* on example.net");

    ok(w.run("remove-domain", "bücher.example.net"));
    expect((parseToml(w.read()) as { domains: unknown[] }).domains).toEqual([{ name: "*.th.example.net", zone: "example.net" }]);
    refused(w, ["check"], /out of date/);
    ok(w.run("render"));
    ok(w.run("check"));
  });

  it("custom domains and Cloudflare for SaaS custom hostnames become the right routes", () => {
    const w = workspace();
    ok(w.run("add-zone", "example.org"));
    ok(w.run("add-zone", "saas.example.com", "--saas"));
    ok(w.run("add-domain", "api.example.org", "--kind", "custom_domain"));
    ok(w.run("add-domain", "bridge.customer.example", "--zone", "saas.example.com", "--kind", "custom_hostname"));
    ok(w.run("add-domain", "other.customer.example", "--zone", "saas.example.com", "--kind", "custom_hostname"));
    ok(w.run("render"));
    expect((parseToml(w.read("wrangler")) as { routes: unknown[] }).routes).toEqual([
      { pattern: "api.example.org", custom_domain: true },
      { pattern: "*/*", zone_name: "saas.example.com" },
    ]);
  });

  it("refuses to route a legacy helper's name to the bridge (raw TCP cannot go through the Worker)", () => {
    const w = workspace();
    w.write("config", w.read("config").replace('tcp_echo = ["127.0.0.1"]', 'tcp_echo = ["legacy.example.net"]'));
    ok(w.run("add-zone", "example.net"));
    ok(w.run("add-domain", "bridge.example.net"));
    const err = refused(w, ["add-domain", "*.example.net"], /refused, nothing written/);
    expect(err).toContain('legacy_helpers.tcp_echo.0: "legacy.example.net" is routed to the bridge (domain "*.example.net")');
  });

  it("refuses invalid, duplicate and shadowed hostnames and unknown zones, leaving the files untouched", () => {
    const w = workspace();
    ok(w.run("add-zone", "example.net"));
    ok(w.run("add-zone", "saas.example.com", "--saas"));
    ok(w.run("add-domain", "*.th.example.net"));
    ok(w.run("render"));
    refused(w, ["add-domain", "bad_label.example.net"], /label "bad_label" must be 1–63 letters, digits or inner hyphens \(RFC 1123\)/);
    refused(w, ["add-domain", `${"a".repeat(64)}.example.net`], /must be 1–63/);
    refused(w, ["add-domain", "--", "-a.example.net"], /RFC 1123/);
    refused(w, ["add-domain", "localhost"], /needs at least two labels/);
    refused(w, ["add-domain", "a*.example.net"], /a wildcard is only allowed as the whole first label/);
    refused(w, ["add-domain", "https://x.example.net/"], /is not a hostname/);
    refused(w, ["add-domain", "*.TH.example.net"], /"\*\.th\.example\.net" is already a domain of the top level/);
    refused(w, ["add-domain", "x.th.example.net"], /^bridge add-domain: refused, nothing written/).includes('"x.th.example.net" is already covered by domains.0 "*.th.example.net"');
    expect(refused(w, ["add-domain", "*.example.net"], /refused, nothing written/)).toContain('is already covered by domains.1 "*.example.net"');
    refused(w, ["add-domain", "x.example.net", "--zone", "nope.example"], /unknown zone "nope\.example" \(declared: example\.net, saas\.example\.com\): npm run bridge -- add-zone nope\.example/);
    refused(w, ["add-domain", "x.example.org"], /no declared zone contains "x\.example\.org"/);
    expect(refused(w, ["add-domain", "x.example.org", "--zone", "example.net"], /refused/)).toContain('"x.example.org" is not inside zone "example.net"');
    expect(refused(w, ["add-domain", "*.w.example.net", "--kind", "custom_domain"], /refused/)).toContain("Workers Custom Domains take no wildcards");
    expect(refused(w, ["add-domain", "c.customer.example", "--zone", "example.net", "--kind", "custom_hostname"], /refused/)).toContain("Cloudflare for SaaS zone");
    refused(w, ["add-domain", "x.example.net", "--kind", "cname"], /--kind must be one of route, custom_domain, custom_hostname/, 2);
    refused(w, ["add-zone", "example.net"], /zone "example\.net" is already declared/);
    refused(w, ["remove-domain", "nope.example.net"], /"nope\.example\.net" is not a domain of the top level \(domains: \*\.th\.example\.net\)/);
    refused(w, ["add-domain", "x.example.net", "--env", "staging"], /unknown environment "staging"/);
    ok(w.run("check"));
  });
});

describe("helpers", () => {
  it("add-helper (canary), set-weight, drain-helper, remove-helper", () => {
    const w = workspace();
    expect(ok(w.run("add-helper", "th-new", "https://new.example.org", "--weight", "0.25", "--canary"))).toContain("canary");
    let pool = (parseToml(w.read()) as { helpers: { pool: Record<string, unknown>[] } }).helpers.pool;
    expect(pool.at(-1)).toEqual({ id: "th-new", url: "https://new.example.org", weight: 0.25, canary: true });
    expect(ok(w.run("list"))).toMatch(/th-new {2}https:\/\/new\.example\.org {2}weight 0\.25 {2}11\.1 % {2}\(canary\)/);

    ok(w.run("set-weight", "th-new", "1", "--no-canary"));
    ok(w.run("drain-helper", "local-0"));
    pool = (parseToml(w.read()) as { helpers: { pool: Record<string, unknown>[] } }).helpers.pool;
    expect(pool).toEqual([
      { id: "local-0", url: "http://127.0.0.1:8790", weight: 1, drained: true },
      { id: "local-1", url: "http://127.0.0.1:8791", weight: 1 },
      { id: "th-new", url: "https://new.example.org", weight: 1, canary: false },
    ]);
    expect(ok(w.run("list"))).toMatch(/local-0 .* 0\.0 % {2}\(drained\)/);
    const diff = ok(w.run("render"));
    expect(diff).toContain('+      {"id":"local-0","url":"http://127.0.0.1:8790","weight":1,"canary":false,"drained":true},');

    ok(w.run("drain-helper", "local-0", "--undo"));
    ok(w.run("drain-helper", "local-0"));
    ok(w.run("remove-helper", "local-0"));
    pool = (parseToml(w.read()) as { helpers: { pool: Record<string, unknown>[] } }).helpers.pool;
    expect(pool.map((h) => h.id)).toEqual(["local-1", "th-new"]);
    expect(w.read()).toContain("# Helpers on loopback are started by `npm start` itself");
  });

  it("refuses unknown helpers, out-of-range weights and bad helpers, leaving the files untouched", () => {
    const w = workspace();
    refused(w, ["set-weight", "nope", "1"], /unknown helper "nope" in the top level \(helpers: local-0, local-1\)/);
    refused(w, ["drain-helper", "nope"], /unknown helper "nope"/);
    refused(w, ["remove-helper", "nope"], /unknown helper "nope"/);
    refused(w, ["set-weight", "local-0", "-1"], /weight -1 is out of range: use 0–1000000/);
    refused(w, ["set-weight", "local-0", "1000001"], /weight 1000001 is out of range/);
    refused(w, ["set-weight", "local-0", "heavy"], /weight must be a number, not "heavy"/);
    refused(w, ["add-helper", "th-x", "https://x.example.org", "--weight", "5e6"], /--weight 5000000 is out of range/);
    refused(w, ["add-helper", "th-x", "https://x.example.org", "--weight", "-2"], /--weight -2 is out of range/);
    refused(w, ["add-helper", "local-0", "https://x.example.org"], /helper "local-0" already exists/);
    expect(refused(w, ["add-helper", "th-x", "https://x.example.org/th"], /refused, nothing written/)).toContain("helpers.pool.2.url: must be scheme://host[:port] without a path");
    expect(refused(w, ["add-helper", "bad id", "https://x.example.org"], /refused, nothing written/)).toContain("helpers.pool.2.id:");
    refused(w, ["remove-helper", "local-0"], /helper "local-0" is not drained: npm run bridge -- drain-helper local-0/);
    refused(w, ["add-helper", "th-x"], /expected <id> <url>/, 2);
    refused(w, ["frobnicate"], /unknown command "frobnicate"/, 2);
    refused(w, ["list", "--bogus"], /Unknown option '--bogus'/, 2);
  });

  it("will not drain the last helper of an environment that has routes", () => {
    const w = workspace();
    ok(w.run("add-zone", "example.net"));
    ok(w.run("add-domain", "bridge.example.net"));
    ok(w.run("drain-helper", "local-0"));
    expect(refused(w, ["drain-helper", "local-1"], /refused/)).toContain("helpers.pool: no helper takes clients");
  });
});

describe("environments", () => {
  it("edits an environment's own domains and pool, and renders it as a wrangler environment", () => {
    const w = workspace("bridge-config/examples/production.toml");
    ok(w.run("render"));
    ok(w.run("add-domain", "*.bridge-staging.example.org", "--env", "staging"));
    ok(w.run("add-helper", "staging-th-2", "https://2.th-origin.staging.example.org", "--canary", "--weight", "0.5", "--env", "staging"));
    const file = parseToml(w.read()) as { env: { staging: { domains: unknown[]; helpers: { pool: { id: string }[] } } }; helpers: { pool: { id: string }[] } };
    expect(file.env.staging.domains).toContainEqual({ name: "*.bridge-staging.example.org", zone: "example.org" });
    expect(file.env.staging.helpers.pool.map((h) => h.id)).toEqual(["staging-th-1", "staging-th-2"]);
    expect(file.helpers.pool.map((h) => h.id)).not.toContain("staging-th-2");

    const diff = ok(w.run("render"));
    expect(diff).toContain('+pattern = "*.bridge-staging.example.org/*"');
    const wrangler = parseToml(w.read("wrangler")) as {
      env: { staging: { routes: unknown[]; vars: { BRIDGE_CONFIG: string }; durable_objects: { bindings: unknown[] } } };
      vars: { BRIDGE_CONFIG: string };
    };
    const staging = JSON.parse(wrangler.env.staging.vars.BRIDGE_CONFIG);
    expect(staging).toMatchObject({ name: "staging", origin: { url: "https://origin.staging.example.org" }, helpers: { hostnames: ["*.th.staging.example.org"] } });
    expect(staging.helpers.pool.map((h: { id: string }) => h.id)).toEqual(["staging-th-1", "staging-th-2"]);
    // Settings the environment does not set come from the top level.
    expect(staging.cache).toEqual(JSON.parse(wrangler.vars.BRIDGE_CONFIG).cache);
    expect(wrangler.env.staging.durable_objects.bindings).toEqual([{ name: "BRIDGE_STATE", class_name: "BridgeState" }]);
    expect(ok(w.run("list", "--env", "staging"))).not.toContain("top level");
    ok(w.run("check"));
  });

  it("refuses a hostname that another environment routes, and unknown environments", () => {
    const w = workspace("bridge-config/examples/production.toml");
    ok(w.run("add-zone", "example.net", "--env", "staging"));
    expect(refused(w, ["add-domain", "th.example.net", "--env", "staging"], /refused/)).toContain(
      'env.staging.domains.1.name: "th.example.net" is also a domain of the top level: each hostname belongs to one environment',
    );
    refused(w, ["add-helper", "x", "https://x.example.org", "--env", "prod"], /unknown environment "prod" \(environments in the file: staging\)/);
  });
});
