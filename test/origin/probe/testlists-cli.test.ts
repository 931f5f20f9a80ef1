import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot, startOriginProcess, type OriginProcess } from "../../support/origin-process";

// `npm run cli -- testlists load DIR`, as an operator runs it, against a real data directory. Each
// run starts a CLI process that opens the database (seconds each; much longer on a loaded machine).
const SLOW = { timeout: 300_000 };

const dirs: string[] = [];
let origin: OriginProcess | undefined;
afterAll(async () => {
  await origin?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tmp = (p: string) => {
  const d = mkdtempSync(path.join(tmpdir(), p));
  dirs.push(d);
  return d;
};

function cli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "origin/src/cli.ts"), ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", LOG_LEVEL: "warn", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code, signal) => resolve({ code, stdout, stderr: signal ? `${stderr}\n[signal ${signal}]` : stderr }));
  });
}

/** The command's result line (log lines may come before it). */
const lastJson = (out: string) => JSON.parse(out.trim().split("\n").at(-1)!) as unknown;

const header = "url,category_code,category_description,date_added,source,notes\n";

describe("testlists load", () => {
  it("loads a CitizenLab-layout directory; check-in serves it; with the server running it loads through it", SLOW, async () => {
    const dataDir = tmp("cli-data-");
    const lists = tmp("cli-lists-");
    mkdirSync(path.join(lists, "lists"));
    writeFileSync(path.join(lists, "lists", "global.csv"), `${header}https://global-only.example/,NEWS,News,2024-01-01,,\n`);
    writeFileSync(path.join(lists, "lists", "it.csv"), `${header}https://italy-only.example/,NEWS,News,2024-01-01,,\nftp://nope.example/,NEWS,,,,\n`);

    const loaded = await cli(["testlists", "load", lists], { DATA_DIR: dataDir });
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(lastJson(loaded.stdout)).toMatchObject({ loaded: true, files: 2, rows: 2, countries: 1, skipped: 1 });
    expect(loaded.stderr).toMatch(/skipped it\.csv:3: not an http\(s\) URL/);

    // The server does not replace an operator's list with its bootstrap fixture.
    origin = await startOriginProcess({ dataDir });
    const res = await fetch(`${origin.url}/api/v1/check-in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ probe_cc: "IT", probe_asn: "AS30722", charging: true, run_type: "timed" }),
    });
    const urls = ((await res.json()) as { tests: { web_connectivity: { urls: { url: string }[] } } }).tests.web_connectivity.urls;
    expect(urls.map((u) => u.url).sort()).toEqual(["https://global-only.example/", "https://italy-only.example/"]);

    // While the server owns the embedded database, the same command runs inside it (admin socket):
    // the new list is served at once.
    writeFileSync(path.join(lists, "lists", "it.csv"), `${header}https://italy-second.example/,NEWS,News,2024-01-01,,\n`);
    const live = await cli(["testlists", "load", lists], { DATA_DIR: dataDir });
    expect(live.code, live.stderr).toBe(0);
    expect(lastJson(live.stdout)).toMatchObject({ loaded: true, rows: 2 });
    const after = await fetch(`${origin.url}/api/v1/test-list/urls?country_code=IT`);
    const afterUrls = ((await after.json()) as { results: { url: string }[] }).results.map((u) => u.url).sort();
    expect(afterUrls).toEqual(["https://global-only.example/", "https://italy-second.example/"]);
    await origin.stop();
    origin = undefined;
  });

  it("reports clearly when another process holds the embedded database", SLOW, async () => {
    const dataDir = tmp("cli-data-");
    // A process that holds the database but serves no admin socket (e.g. an older origin).
    const holder = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e",
        `import { openDatabase } from ${JSON.stringify(path.join(repoRoot, "origin/src/db/clickhouse.ts"))};
         const db = openDatabase({ kind: "embedded", path: ${JSON.stringify(path.join(dataDir, "clickhouse"))}, database: "default", queryTimeoutS: 28 });
         await db.check(); process.stdout.write("holding\\n"); setInterval(() => {}, 1000);`],
      { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
      const locked = await cli(["testlists", "load", path.join(repoRoot, "origin/fixtures/testlists")], { DATA_DIR: dataDir });
      // chDB prints the reason itself; the CLI exits non-zero without touching anything. (The CLI's
      // friendlier message and exit 75 need cli.ts to recognise chDB's "Failed to create connection".)
      expect(locked.code).not.toBe(0);
      expect(locked.stderr).toMatch(/Cannot lock file .*Another server instance in same directory is already running/);
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("says what is wrong with its arguments and directories", SLOW, async () => {
    const dataDir = tmp("cli-data-");
    const usage = await cli(["testlists"], { DATA_DIR: dataDir });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/usage: .*testlists load DIR/);
    const missing = await cli(["testlists", "load", path.join(dataDir, "nope")], { DATA_DIR: dataDir });
    expect(missing.code).toBe(66);
    expect(missing.stderr).toMatch(/cannot read/);
    const noGlobal = tmp("cli-lists-");
    writeFileSync(path.join(noGlobal, "it.csv"), header);
    const bad = await cli(["testlists", "load", noGlobal], { DATA_DIR: dataDir });
    expect(bad.code).toBe(66);
    expect(bad.stderr).toMatch(/no global\.csv/);
    const dry = await cli(["testlists", "load", "--dry-run", path.join(repoRoot, "origin/fixtures/testlists")], { DATA_DIR: dataDir });
    expect(dry.code).toBe(0);
    expect(lastJson(dry.stdout)).toMatchObject({ dry_run: true, files: 3, skipped: 0 });
  });
});
