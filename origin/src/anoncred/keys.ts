import { randomBytes } from "node:crypto";
import { link, mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";

// The key ring: every version of the server's anonymous-credentials keys, oldest first; the last is
// the current one, whose public parameters the manifest publishes. Older versions are kept so a
// probe holding a credential under them can update it (POST /api/v1/update_credential) instead of
// starting over at age zero. Like the other secrets it comes from the environment in production
// (ANONC_KEYS_SECRET, the same value on every origin host) or, by default, from a file generated once
// under DATA_DIR (secrets/anoncred-keys.json, mode 0600) and rewritten only by `anoncred rotate`.

const B64 = /^[A-Za-z0-9+/=_-]{16,4096}$/;

export const KeyVersion = z.object({
  /** Published as the manifest's meta.version; probes send it back as manifest_version. */
  version: z.string().regex(/^[0-9]{1,9}$/),
  created: z.string().datetime(),
  public_parameters: z.string().regex(B64),
  secret_key: z.string().regex(B64),
});
export type KeyVersion = z.infer<typeof KeyVersion>;

export const KeyRing = z
  .object({ versions: z.array(KeyVersion).min(1).max(100) })
  .refine((r) => new Set(r.versions.map((v) => v.version)).size === r.versions.length, { error: "versions must be unique" });
export type KeyRing = z.infer<typeof KeyRing>;

export class KeyRingError extends Error {
  override readonly name = "KeyRingError";
}

export function parseKeyRing(text: string, where: string): KeyRing {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new KeyRingError(`${where} is not JSON`);
  }
  const r = KeyRing.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new KeyRingError(`${where} is not an anonymous-credentials key ring (at ${issue.path.join(".") || "top level"}: ${issue.message})`);
  }
  return r.data;
}

export function currentKey(ring: KeyRing): KeyVersion {
  return ring.versions[ring.versions.length - 1]!;
}

export function keyVersion(ring: KeyRing, version: string): KeyVersion | undefined {
  return ring.versions.find((v) => v.version === version);
}

/** A ring with one more version (number after the highest), keeping at most `keep` versions. */
export function withNewVersion(ring: KeyRing | null, keys: { public_parameters: string; secret_key: string }, keep = 10, now = new Date()): KeyRing {
  const old = ring?.versions ?? [];
  const next = old.reduce((n, v) => Math.max(n, Number(v.version)), 0) + 1;
  const added: KeyVersion = { version: String(next), created: now.toISOString().replace(/\.\d{3}Z$/, "Z"), ...keys };
  return { versions: [...old, added].slice(-Math.max(1, keep)) };
}

export async function readKeyRingFile(file: string): Promise<KeyRing | null> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  return parseKeyRing(text, file);
}

/**
 * Writes the ring atomically (temp file, fsync, rename), mode 0600. With `exclusive`, fails with
 * EEXIST when a ring is already there (two origins starting at once: the first one's keys win).
 */
export async function writeKeyRingFile(file: string, ring: KeyRing, exclusive = false): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(ring, null, 1)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    if (exclusive) await link(tmp, file);
    else await rename(tmp, file);
  } finally {
    await unlink(tmp).catch(() => {});
  }
  const dh = await open(path.dirname(file), "r");
  await dh.sync().finally(() => dh.close());
}

export async function mtimeOf(file: string): Promise<number | null> {
  try {
    return (await stat(file)).mtimeMs;
  } catch {
    return null;
  }
}
