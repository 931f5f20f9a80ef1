// Where the bridge answers: the Cloudflare zones and hostnames of one environment. These keys live in
// the same file as the Worker's settings but never reach the Worker (it answers on any hostname);
// `npm run bridge -- render` turns them into wrangler.toml routes. Pure zod/mini: parse.ts, which the
// edge tests compile for workerd, uses it. Hostname rules beyond the shape (IDNA, shadowing, zone
// membership) need Node and live in check.ts.
import * as z from "zod/mini";

const withDefault = <T extends z.ZodMiniType>(schema: T, value: z.output<T>) =>
  z._default(schema, value as never) as z.ZodMiniDefault<T>;

export const zoneSchema = z.strictObject({
  /** The zone's apex as Cloudflare shows it, e.g. "example.org". */
  name: z.string().check(z.minLength(1)),
  /** A Cloudflare for SaaS zone: customers' hostnames (custom hostnames) are attached to it. */
  saas: withDefault(z.boolean(), false),
});

export const domainKinds = ["route", "custom_domain", "custom_hostname"] as const;

export const domainSchema = z.strictObject({
  /** "bridge.example.org", or "*.th.example.org" for every name below th.example.org. */
  name: z.string().check(z.minLength(1)),
  /** A declared zone's name: the zone the route (or custom hostname) belongs to. */
  zone: z.string().check(z.minLength(1)),
  /**
   * route: a Workers route on the zone (wildcards allowed; DNS record proxied by Cloudflare);
   * custom_domain: a Workers Custom Domain (Cloudflare creates DNS and certificate; no wildcards);
   * custom_hostname: a Cloudflare for SaaS custom hostname on a `saas` zone (a customer's name).
   */
  kind: withDefault(z.enum(domainKinds), "route"),
});

export const deploymentSchema = z.strictObject({
  zones: withDefault(z.array(zoneSchema), []),
  domains: withDefault(z.array(domainSchema), []),
});

export type Zone = z.output<typeof zoneSchema>;
export type Domain = z.output<typeof domainSchema>;
export type Deployment = z.output<typeof deploymentSchema>;

/** `[env.<name>]`: lowercase, as wrangler's `--env` takes it. */
export const envNamePattern = /^[a-z][a-z0-9-]{0,31}$/;
