import { randomBytes } from "node:crypto";
import { chmod, link, mkdir, open, readFile, stat, unlink } from "node:fs/promises";
import path from "node:path";
import type { Config } from "./config";

// The JWT signing secret: JWT_SECRET when set (several origin hosts must share it), otherwise
// generated once into $DATA_DIR/secrets/jwt_secret (mode 0600) and reused on every start, so tokens
// survive restarts. Creation is atomic and race-free: the secret is written to a temp file, fsynced,
// then hard-linked into place — link() fails if another process won, and we read its secret.

const MIN_LENGTH = 32;

async function readSecretFile(file: string): Promise<string> {
  const st = await stat(file);
  if ((st.mode & 0o077) !== 0) await chmod(file, 0o600); // never leave it readable by others
  const secret = (await readFile(file, "utf8")).trim();
  if (secret.length < MIN_LENGTH) {
    throw new Error(`${file} holds a secret shorter than ${MIN_LENGTH} characters; delete it to generate a new one`);
  }
  return secret;
}

export async function loadOrCreateSecret(dataDir: string, name: string): Promise<string> {
  const dir = path.join(dataDir, "secrets");
  const file = path.join(dir, name);
  try {
    return await readSecretFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(`${randomBytes(32).toString("hex")}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    await unlink(tmp).catch(() => {});
  }
  const dh = await open(dir, "r");
  await dh.sync().finally(() => dh.close());
  return readSecretFile(file);
}

export async function jwtSecret(config: Config): Promise<string> {
  return config.jwtSecret ?? loadOrCreateSecret(config.dataDir, "jwt_secret");
}
