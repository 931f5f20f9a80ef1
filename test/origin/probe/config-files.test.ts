import { cpSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../origin/src/config";
import { openProbeConfigFiles, TorTargetsFile, WatchedJsonFile } from "../../../origin/src/probe/config-files";
import { repoRoot, startOriginProcess } from "../../support/origin-process";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function copyOfFixture() {
  const d = mkdtempSync(path.join(tmpdir(), "probe-config-"));
  dirs.push(d);
  cpSync(path.join(repoRoot, "origin/fixtures/probe"), d, { recursive: true });
  return d;
}

describe("probe configuration files", () => {
  it("the project fixtures are valid", () => {
    const files = openProbeConfigFiles(path.join(repoRoot, "origin/fixtures/probe"), () => {});
    expect(Object.keys(files.services.get().test_helpers)).toContain("web-connectivity");
    expect(Object.keys(files.vpn.get())).toEqual(["riseupvpn"]);
  });

  it("refuses a broken file at start, naming it", () => {
    const dir = copyOfFixture();
    writeFileSync(path.join(dir, "tor-targets.json"), JSON.stringify({ x: { address: 5 } }));
    expect(() => openProbeConfigFiles(dir, () => {})).toThrow(ConfigError);
    expect(() => openProbeConfigFiles(dir, () => {})).toThrow(/tor-targets\.json is invalid at x\.address/);
    writeFileSync(path.join(dir, "tor-targets.json"), "{");
    expect(() => openProbeConfigFiles(dir, () => {})).toThrow(/tor-targets\.json cannot be read as JSON/);
  });

  it("picks up a changed file, and keeps the old version when the change is invalid", async () => {
    const dir = copyOfFixture();
    const file = path.join(dir, "tor-targets.json");
    const errors: string[] = [];
    const w = new WatchedJsonFile(file, TorTargetsFile, (f) => errors.push(f));
    const v1 = w.get();
    writeFileSync(file, JSON.stringify({ only: { address: "192.0.2.1:443", name: "n", params: {}, protocol: "obfs4", source: "" } }));
    utimesSync(file, new Date(), new Date(Date.now() + 10_000));
    await w.recheck();
    expect(Object.keys(w.get())).toEqual(["only"]);
    writeFileSync(file, "[1,2");
    utimesSync(file, new Date(), new Date(Date.now() + 20_000));
    await w.recheck();
    expect(Object.keys(w.get())).toEqual(["only"]);
    expect(errors).toEqual([file]);
    expect(v1).not.toEqual(w.get());
  });

  it("a bad PROBE_CONFIG_DIR stops the origin with a configuration error (exit 78)", { timeout: 180_000 }, async () => {
    const dir = copyOfFixture();
    writeFileSync(path.join(dir, "services.json"), JSON.stringify({ test_helpers: {}, collectors: [], features: { x: "yes" } }));
    const dataDir = mkdtempSync(path.join(tmpdir(), "probe-config-data-"));
    dirs.push(dataDir);
    const err = await startOriginProcess({ dataDir, env: { PROBE_CONFIG_DIR: dir }, startTimeoutMs: 60_000 }).then(
      async (o) => {
        await o.stop();
        o.cleanup();
        return null;
      },
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/exited with 78/);
    expect(err?.message).toMatch(/configuration error: PROBE_CONFIG_DIR file .*services\.json is invalid at features\.x/);
  });
});
