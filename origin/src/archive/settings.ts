import { z } from "zod";
import { UPLOADER_STEPS, type UploaderStep } from "./steps";

// Settings of the archive uploader (merged into the origin's EnvSchema in config.ts).

export const DEFAULT_CAN_MAX_BYTES = 20 * 1024 * 1024;

export const UploaderSettings = z.object({
  UPLOADER_CAN_MAX_BYTES: z.coerce.number().int().min(1).default(DEFAULT_CAN_MAX_BYTES),
  // Test fault injector only (docs/archive.md): never set it in production.
  OONI_UPLOADER_CRASH_AT: z
    .enum(UPLOADER_STEPS, { error: `must be one of ${UPLOADER_STEPS.join(", ")}` })
    .optional(),
});

export interface UploaderConfig {
  /** A new postcan (and JSONL file) starts once a file holds this many bytes of .post files. */
  canMaxBytes: number;
  /** Test fault injector: the step after which the uploader kills its own process. */
  crashAt: UploaderStep | null;
}

export function uploaderConfig(env: z.infer<typeof UploaderSettings>): UploaderConfig {
  return { canMaxBytes: env.UPLOADER_CAN_MAX_BYTES, crashAt: env.OONI_UPLOADER_CRASH_AT ?? null };
}
