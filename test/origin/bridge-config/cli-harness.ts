// Runs the operator CLI as an operator would (`node --import tsx bridge-config/cli.ts …`), against
// copies of the repository's configuration in a temporary directory.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export const repoRoot = path.resolve(import.meta.dirname, "../../..");
const cli = path.join(repoRoot, "bridge-config/cli.ts");

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class Workspace {
  readonly dir = mkdtempSync(path.join(tmpdir(), "bridge-cli-"));
  readonly config: string;
  readonly wrangler: string;

  constructor(source = "bridge-config/bridge.toml") {
    this.config = path.join(this.dir, path.basename(source));
    this.wrangler = path.join(this.dir, "wrangler.toml");
    copyFileSync(path.join(repoRoot, source), this.config);
    copyFileSync(path.join(repoRoot, "wrangler.toml"), this.wrangler);
  }

  run(...args: string[]): Result {
    const env = { ...process.env };
    delete env.BRIDGE_CONFIG;
    const r = spawnSync(process.execPath, ["--import", "tsx", cli, "--config", this.config, "--wrangler", this.wrangler, ...args], {
      cwd: repoRoot,
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  read(which: "config" | "wrangler" = "config"): string {
    return readFileSync(which === "config" ? this.config : this.wrangler, "utf8");
  }

  write(which: "config" | "wrangler", text: string): void {
    writeFileSync(which === "config" ? this.config : this.wrangler, text);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
