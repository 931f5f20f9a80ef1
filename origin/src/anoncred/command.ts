import { parseArgs } from "node:util";
import { loadConfig } from "../config";
import type { Command } from "../commands/types";
import { currentKey, parseKeyRing, readKeyRingFile, withNewVersion, writeKeyRingFile, type KeyRing } from "./keys";
import { WorkerPool } from "./pool";
import { INSTALL_HINT } from "./service";

// `npm run cli -- anoncred …`: the server's anonymous-credentials keys (docs/anonymous-credentials.md).
//   keygen  create the key ring under DATA_DIR (the origin also does this on its first start)
//   rotate  add a new key version; the old ones stay for credential updates (--keep N versions)
//   status  versions and dates, never the keys
//   export  print the ring as JSON, for ANONC_KEYS_SECRET in production (it holds the secret keys)
// With ANONC_KEYS_SECRET set, rotate prints the new ring instead of writing a file: store it in
// the secret store and restart every origin host with it. A running origin that reads the file
// picks a rotation up within seconds, without a restart.

const usage = "anoncred keygen | anoncred rotate [--keep N] | anoncred status | anoncred export";

async function generate(python: string | null, timeoutMs: number): Promise<{ public_parameters: string; secret_key: string }> {
  if (!python) throw new Error(`ooniauth-py not found; ${INSTALL_HINT}`);
  const pool = new WorkerPool({ python, size: 1, timeoutMs: Math.max(timeoutMs, 15_000) });
  try {
    return await pool.call("keygen");
  } catch (err) {
    throw new Error(`cannot generate keys with ${python}: ${(err as Error).message}; ${INSTALL_HINT}`);
  } finally {
    await pool.close();
  }
}

export const anoncredCommand: Command = {
  summary: "anonymous-credentials keys: generate, rotate, show, export",
  usage,
  async run(argv) {
    const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { keep: { type: "string" } } });
    const sub = positionals[0];
    const keep = values.keep === undefined ? 10 : Number(values.keep);
    if (!sub || !["keygen", "rotate", "status", "export"].includes(sub) || !Number.isInteger(keep) || keep < 2 || keep > 100) {
      process.stderr.write(`usage: npm run cli -- ${usage}\n(--keep: 2 to 100 versions, default 10)\n`);
      return 2;
    }
    const config = loadConfig().anoncred;
    const fromEnv = config.keysSecret !== null;
    let ring: KeyRing | null;
    try {
      ring = fromEnv ? parseKeyRing(config.keysSecret!, "ANONC_KEYS_SECRET") : await readKeyRingFile(config.keysFile);
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`);
      return 1;
    }
    const where = fromEnv ? "ANONC_KEYS_SECRET" : config.keysFile;

    if (sub === "status") {
      if (!ring) {
        process.stdout.write(`no key ring at ${where} (the origin creates one on its first start with credentials on)\n`);
        return 0;
      }
      const cur = currentKey(ring).version;
      process.stdout.write(`key ring: ${where}\n`);
      for (const v of ring.versions) process.stdout.write(`version ${v.version}  created ${v.created}${v.version === cur ? "  (current: in the manifest)" : ""}\n`);
      return 0;
    }
    if (sub === "export") {
      if (!ring) {
        process.stderr.write(`no key ring at ${where}: run \`anoncred keygen\` first\n`);
        return 1;
      }
      process.stdout.write(`${JSON.stringify(ring)}\n`);
      return 0;
    }
    if (sub === "keygen" && ring) {
      process.stderr.write(`a key ring already exists at ${where} (version ${currentKey(ring).version}); use \`anoncred rotate\` for new keys\n`);
      return 1;
    }
    if (sub === "rotate" && !ring) {
      process.stderr.write(`no key ring at ${where} to rotate: run \`anoncred keygen\` first\n`);
      return 1;
    }
    let next: KeyRing;
    try {
      next = withNewVersion(ring, await generate(config.python, config.timeoutMs), keep);
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`);
      return 1;
    }
    if (fromEnv) {
      process.stderr.write("ANONC_KEYS_SECRET is set: store this new ring there on every origin host, then restart them\n");
      process.stdout.write(`${JSON.stringify(next)}\n`);
      return 0;
    }
    try {
      await writeKeyRingFile(config.keysFile, next, sub === "keygen");
    } catch (err) {
      process.stderr.write(`cannot write ${config.keysFile}: ${(err as Error).message}\n`);
      return 1;
    }
    process.stdout.write(`${sub === "keygen" ? "created" : "rotated"}: version ${currentKey(next).version} is current (${next.versions.length} kept) in ${config.keysFile}\n`);
    return 0;
  },
};
