import { chmod, mkdir } from "node:fs/promises";
import path from "node:path";
import type { Config } from "./config";

// DATA_DIR holds measurements not yet archived, the quota ledger (hashed client networks), the
// database and the secrets: nobody but the service account should read it. mkdir -p made it 0755
// (umask 022); every folder the origin keeps there is now created — or, from an older install,
// changed to — 0700 before anything opens it. Deeper folders inherit the protection: a 0700 parent
// cannot be traversed by others. Folders configured outside DATA_DIR (BLOB_STORE, QUOTA_DB_DIR
// elsewhere) belong to their operator and are left as they are.

export const PRIVATE_DIR_MODE = 0o700;

/** DATA_DIR and the origin's own folders in it, as the configuration places them. */
export function privateDirs(config: Config): string[] {
  const inside = (p: string) => {
    const rel = path.relative(config.dataDir, p);
    return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
  };
  const candidates = [config.spoolDir, config.quotas.dir];
  if (config.clickhouse.kind === "embedded") candidates.push(config.clickhouse.path);
  if (config.blobStore.kind === "local") candidates.push(config.blobStore.dir);
  return [config.dataDir, ...candidates.filter(inside)];
}

export async function securePrivateDirs(config: Config): Promise<void> {
  for (const dir of privateDirs(config)) {
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    await chmod(dir, PRIVATE_DIR_MODE);
  }
}
