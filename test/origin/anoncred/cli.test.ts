import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { anonCredPython, SKIP_MESSAGE } from "../../support/anoncred-client";
import { repoRoot } from "../../support/origin-process";

// `npm run cli -- anoncred …` as an operator runs it: the key ring under DATA_DIR, rotation keeping
// old versions, export for ANONC_KEYS_SECRET, and the environment mode where rotate prints the new
// ring instead of writing a file.

const python = anonCredPython();
if (!python) console.warn(`anoncred cli: SKIPPED — ${SKIP_MESSAGE}`);

const dataDir = mkdtempSync(path.join(tmpdir(), "anoncred-cli-"));
const ringFile = path.join(dataDir, "secrets", "anoncred-keys.json");
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(repoRoot, "origin/src/cli.ts"), "anoncred", ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", DATA_DIR: dataDir, ...(python ? { ANONC_PYTHON: python } : {}), ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe.skipIf(!python)("anoncred command", () => {
  it("keygen, rotate (keeping old versions), status, export; environment mode prints instead of writing", () => {
    expect(cli(["status"])).toMatchObject({ code: 0, out: expect.stringMatching(/no key ring at .*anoncred-keys\.json/) });
    expect(cli(["keygen"])).toMatchObject({ code: 0, out: expect.stringMatching(/created: version 1 is current/) });
    expect(statSync(ringFile).mode & 0o777).toBe(0o600);
    expect(cli(["keygen"])).toMatchObject({ code: 1, err: expect.stringMatching(/already exists .*use `anoncred rotate`/) });

    expect(cli(["rotate", "--keep", "2"]).out).toMatch(/rotated: version 2 is current \(2 kept\)/);
    expect(cli(["rotate", "--keep", "2"]).out).toMatch(/rotated: version 3 is current \(2 kept\)/);
    const status = cli(["status"]);
    expect(status.out).not.toMatch(/version 1 /);
    expect(status.out).toMatch(/version 2 {2}created \S+Z\n/);
    expect(status.out).toMatch(/version 3 {2}created \S+Z {2}\(current: in the manifest\)/);
    const ring = JSON.parse(readFileSync(ringFile, "utf8")) as { versions: { version: string; secret_key: string }[] };
    // status never prints a key.
    for (const v of ring.versions) expect(status.out).not.toContain(v.secret_key);

    const exported = cli(["export"]);
    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.out)).toEqual(ring);

    // Production: the ring comes from ANONC_KEYS_SECRET; rotate prints the next one, touches no file.
    const before = readFileSync(ringFile, "utf8");
    const envRotate = cli(["rotate"], { ANONC_KEYS_SECRET: exported.out.trim() });
    expect(envRotate.code).toBe(0);
    expect(envRotate.err).toMatch(/ANONC_KEYS_SECRET is set: store this new ring/);
    expect((JSON.parse(envRotate.out) as typeof ring).versions.map((v) => v.version)).toEqual(["2", "3", "4"]);
    expect(readFileSync(ringFile, "utf8")).toBe(before);
  }, 120_000);

  it("refuses bad input with a message and never echoes a secret", () => {
    expect(cli(["spin"]).code).toBe(2);
    expect(cli(["rotate", "--keep", "1"]).code).toBe(2);
    const bad = cli(["status"], { ANONC_KEYS_SECRET: '{"versions":[{"version":"x","secret_key":"s3cr3t-value"}]}' });
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/ANONC_KEYS_SECRET is not an anonymous-credentials key ring/);
    expect(bad.err).not.toContain("s3cr3t-value");
  });
});
