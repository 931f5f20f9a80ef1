import path from "node:path";
import { z } from "zod";

// Mail settings (merged into the origin's EnvSchema in config.ts). SMTP_HOST unset = the
// development outbox directory.

const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", "on", "off"], { error: "must be true or false" })
  .transform((v) => ["1", "true", "yes", "on"].includes(v));

export const MailSettings = z.object({
  MAIL_FROM: z.string().trim().min(3).default("OONI <contact@ooni.org>"),
  MAIL_OUTBOX_DIR: z.string().trim().min(1).optional(),
  SMTP_HOST: z.string().trim().min(1).optional(),
  SMTP_PORT: z.coerce.number().int().min(1).max(65535).default(587),
  SMTP_SECURE: bool.default(false),
  SMTP_REQUIRE_TLS: bool.default(true),
  SMTP_USER: z.string().optional(),
  SMTP_PASSWORD: z.string().optional(),
});

export interface MailConfig {
  from: string;
  outboxDir: string;
  smtp: null | {
    host: string;
    port: number;
    secure: boolean;
    requireTls: boolean;
    user: string | null;
    password: string | null;
  };
}

export function mailConfig(env: z.infer<typeof MailSettings>, dataDir: string): MailConfig {
  return {
    from: env.MAIL_FROM,
    outboxDir: path.resolve(env.MAIL_OUTBOX_DIR ?? path.join(dataDir, "outbox")),
    smtp: env.SMTP_HOST
      ? {
          host: env.SMTP_HOST,
          port: env.SMTP_PORT,
          secure: env.SMTP_SECURE,
          requireTls: env.SMTP_REQUIRE_TLS,
          user: env.SMTP_USER ?? null,
          password: env.SMTP_PASSWORD ?? null,
        }
      : null,
  };
}
