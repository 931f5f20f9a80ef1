import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../support/origin-process";

// The OpenAPI document (docs/openapi.json, which spec-up-to-date.test.ts keeps equal to what /apispec.json
// serves) must also pass the validator the OONI tooling uses: openapi-spec-validator from PyPI,
// installed once into a venv under ~/.cache/ooni-edge/ (about 20 s the first time, nothing after).
// Without python3 the test says so and skips.

const VERSION = "0.9.0";
const python = spawnSync("python3", ["--version"], { encoding: "utf8" });
const havePython = python.status === 0;
if (!havePython) console.warn("skipping openapi-spec-validator: python3 is not installed (apt-get install python3 python3-venv)");

const venv = path.join(process.env.OONI_EDGE_CACHE ?? path.join(homedir(), ".cache/ooni-edge"), `openapi-spec-validator-${VERSION}`);
const venvPython = path.join(venv, "bin/python");

function ensureValidator(): void {
  if (existsSync(venvPython)) return;
  // Built aside and renamed into place, so a run that dies half-way never leaves a broken venv.
  mkdirSync(path.dirname(venv), { recursive: true });
  const tmp = `${venv}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const mk = spawnSync("python3", ["-m", "venv", tmp], { encoding: "utf8" });
  if (mk.status !== 0) throw new Error(`python3 -m venv failed (apt-get install python3-venv?): ${mk.stderr}`);
  const pip = spawnSync(path.join(tmp, "bin/python"), ["-m", "pip", "install", "-q", `openapi-spec-validator==${VERSION}`], {
    encoding: "utf8",
    timeout: 240_000,
  });
  if (pip.status !== 0) throw new Error(`pip install openapi-spec-validator failed: ${pip.stderr || pip.error}`);
  try {
    renameSync(tmp, venv);
  } catch (e) {
    // Another run finished first: use its venv.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(venvPython)) throw e;
  }
}

describe.skipIf(!havePython)("openapi-spec-validator", () => {
  it("accepts docs/openapi.json (the document /apispec.json serves)", { timeout: 300_000 }, () => {
    ensureValidator();
    const r = spawnSync(venvPython, ["-m", "openapi_spec_validator", path.join(repoRoot, "docs/openapi.json")], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toContain(": OK");
    expect(r.status).toBe(0);
  });
});
