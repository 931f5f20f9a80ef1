import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot, startOriginProcess, type OriginProcess } from "../support/origin-process";

// Embedded chDB locks its directory to one process, so while the origin runs, CLI commands that
// need the database must run inside it (admin socket) — and on their own when it does not run.
function cli(dataDir: string, ...args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", "origin/src/cli.ts", ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, DATA_DIR: dataDir, LOG_LEVEL: "warn" },
    encoding: "utf8",
    timeout: 60_000,
  });
}

describe("CLI commands that need the database", () => {
  let origin: OriginProcess | undefined;
  afterAll(async () => {
    await origin?.stop();
    origin?.cleanup();
  });

  it("run through the running origin's admin socket, which only its owner may use", async () => {
    origin = await startOriginProcess();
    const sock = path.join(origin.dataDir, "admin.sock");
    expect(statSync(sock).isSocket()).toBe(true);
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    const r = cli(origin.dataDir, "db", "status");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^database: chdb:/m);
    expect(r.stdout).toMatch(/^citizenlab\s+\d+$/m);
  });

  it("pass the command's exit code and errors through the socket", () => {
    const r = cli(origin!.dataDir, "db", "nonsense");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("usage: npm run cli -- db status");
  });

  it("run in their own process once the origin is gone, even after a SIGKILL left the socket behind", async () => {
    await origin!.kill();
    const r = cli(origin!.dataDir, "db", "status");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^citizenlab\s+\d+$/m);
  });
});
