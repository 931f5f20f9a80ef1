import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { DEFAULT_VENV } from "../../origin/src/anoncred/settings";

// The reference client (ooniauth-py's UserState) for the interop suites, driven through
// anoncred-client.py. The Python comes from ANONC_PYTHON or the venv .ci/run installs; when
// neither exists the suites skip with the message below.

export function anonCredPython(): string | null {
  if (process.env.ANONC_PYTHON) return process.env.ANONC_PYTHON;
  const venv = path.join(DEFAULT_VENV, "bin/python");
  return existsSync(venv) ? venv : null;
}

export const SKIP_MESSAGE =
  "ooniauth-py not installed: run `npm run anoncred:install` (or set ANONC_PYTHON) to run the anonymous-credentials interop suite";

export class ReferenceClient {
  private readonly child: ChildProcess;
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();

  constructor(python: string) {
    this.child = spawn(python, ["-u", path.join(import.meta.dirname, "anoncred-client.py")], { stdio: ["pipe", "pipe", "inherit"] });
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      const m = JSON.parse(line) as { id: number; ok: boolean; result?: unknown; kind?: string; message?: string };
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.ok) p?.resolve(m.result);
      else p?.reject(Object.assign(new Error(`${m.kind}: ${m.message}`), { kind: m.kind }));
    });
  }

  call<T = any>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  close(): void {
    this.child.stdin!.end();
  }
}
