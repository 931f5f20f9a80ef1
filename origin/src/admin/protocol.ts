import path from "node:path";
import { z } from "zod";

// The admin socket lets CLI commands that need the database run inside the origin that owns it
// (embedded chDB locks its directory to one process). It is a Unix socket in DATA_DIR with mode
// 0600: only the user running the origin can connect, which is the authentication.

export function adminSocketPath(dataDir: string): string {
  return path.join(dataDir, "admin.sock");
}

export const RunRequest = z.object({
  command: z.string().regex(/^[a-z][a-z0-9-]*$/),
  args: z.array(z.string().max(4096)).max(256),
});
export type RunRequest = z.infer<typeof RunRequest>;

/** The response is NDJSON: output lines as they happen, then one exit line. */
export type RunEvent = { stream: "out" | "err"; text: string } | { exit: number };
