import { z } from "zod";
import { DEFAULT_CORS_EXPOSE_HEADERS, DEFAULT_CORS_ORIGINS, validOriginPattern, type CorsPolicy } from "#shared/cors";

// CORS settings (merged into the origin's EnvSchema in config.ts; docs/configuration.md#cors).

const list = z.string().transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean));
const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", "on", "off"], { error: "must be true or false" })
  .transform((v) => ["1", "true", "yes", "on"].includes(v));

export const CorsSettings = z.object({
  CORS_ALLOWED_ORIGINS: list
    .pipe(
      z.array(z.string()).refine((a) => a.every(validOriginPattern), {
        error: 'must be a comma-separated list of origins such as https://*.ooni.org (`*` = one name label), or "*"',
      }),
    )
    .default([...DEFAULT_CORS_ORIGINS]),
  CORS_ALLOW_CREDENTIALS: bool.default(true),
  CORS_EXPOSE_HEADERS: list
    .pipe(z.array(z.string().regex(/^[A-Za-z0-9-]+$/, { error: "must be header names" })))
    .default([...DEFAULT_CORS_EXPOSE_HEADERS]),
  CORS_PUBLIC_READS: bool.default(true),
});

/** The policy; the login sites (LOGIN_REDIRECT_ORIGINS) are always allowed too: they call the API. */
export function corsConfig(env: z.infer<typeof CorsSettings>, loginOrigins: readonly string[]): CorsPolicy {
  return {
    allowedOrigins: [...new Set([...env.CORS_ALLOWED_ORIGINS, ...loginOrigins])],
    allowCredentials: env.CORS_ALLOW_CREDENTIALS,
    exposeHeaders: env.CORS_EXPOSE_HEADERS,
    publicReads: env.CORS_PUBLIC_READS,
    maxAgeS: 600,
  };
}
