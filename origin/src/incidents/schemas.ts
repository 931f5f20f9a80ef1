import { z } from "@hono/zod-openapi";
import { parseTime, QueryBool } from "../oonirun/write-api";

// Findings (the legacy API calls them incidents): censorship events people document, with the
// countries, networks, domains and tests they concern. What clients send and what they get back.

// The incidents table stores DateTime (unsigned 32-bit seconds): 1970 to early 2106.
const LATEST_MS = Date.UTC(2106, 0, 1);
const Time = z.iso
  .datetime({ offset: true, local: true, error: "must be an ISO 8601 time such as 2024-01-31T00:00:00Z" })
  .refine((v) => {
    const ms = parseTime(v);
    return ms >= 0 && ms < LATEST_MS;
  }, { error: "must be between 1970 and 2105" })
  .openapi({ example: "2024-01-31T00:00:00Z" });
const Hostname = z
  .string()
  .max(253)
  .regex(/^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?$/, {
    error: "must be a domain name",
  });
const Url = z
  .string()
  .max(2048)
  .refine((v) => /^https?:\/\//i.test(v) && URL.canParse(v), { error: "must be an http(s) URL" });
export const Slug = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, { error: "must be letters, digits and - (at most 64)" });
export const IncidentId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: "must be an incident id" });

const fields = {
  title: z.string().trim().min(1, { error: "must not be empty" }).max(500),
  short_description: z.string().max(2000).default(""),
  text: z.string().trim().min(1, { error: "must not be empty" }).max(200_000),
  start_time: Time,
  end_time: Time.nullish(),
  reported_by: z.string().max(200).default(""),
  event_type: z.string().regex(/^[A-Za-z0-9_ -]{0,50}$/, { error: "must be a short word such as incident" }).default(""),
  CCs: z
    .array(z.string().regex(/^[A-Za-z]{2}$/, { error: "must be two letters" }).transform((s) => s.toUpperCase()))
    .max(300)
    .default([]),
  ASNs: z.array(z.number().int().min(0).max(4_294_967_295)).max(1000).default([]),
  domains: z.array(Hostname).max(1000).default([]),
  tags: z.array(z.string().min(1).max(100)).max(100).default([]),
  links: z.array(Url).max(100).default([]),
  test_names: z.array(z.string().regex(/^[a-z0-9_]{2,100}$/, { error: "must be a test name" })).max(100).default([]),
  themes: z.array(z.string().min(1).max(100)).max(100).default([]),
  slug: Slug.nullish().openapi({ description: "readable handle for links; made from the year and title when absent" }),
};

const endNotBeforeStart = (v: { start_time: string; end_time?: string | null }) =>
  v.end_time == null || parseTime(v.end_time) >= parseTime(v.start_time);
const endMessage = { path: ["end_time"], error: "must not be before start_time" };

export const CreateIncident = z
  .object({ ...fields, published: z.boolean().default(false) })
  .refine(endNotBeforeStart, endMessage)
  .openapi("IncidentCreate");
export type CreateIncident = z.infer<typeof CreateIncident>;

export const UpdateIncident = z
  .object({
    id: IncidentId,
    ...fields,
    published: z.boolean().optional().openapi({ description: "admins only; absent = unchanged" }),
  })
  .refine(endNotBeforeStart, endMessage)
  .openapi("IncidentUpdate");
export type UpdateIncident = z.infer<typeof UpdateIncident>;

export const IncidentRef = z.object({ id: IncidentId }).openapi("IncidentRef");

export const IncidentSummary = z
  .object({
    id: z.string(),
    title: z.string(),
    short_description: z.string(),
    start_time: z.string(),
    end_time: z.string().nullable(),
    create_time: z.string(),
    update_time: z.string(),
    reported_by: z.string(),
    event_type: z.string(),
    published: z.boolean(),
    CCs: z.array(z.string()),
    ASNs: z.array(z.number()),
    domains: z.array(z.string()),
    tags: z.array(z.string()),
    links: z.array(z.string()),
    test_names: z.array(z.string()),
    themes: z.array(z.string()),
    slug: z.string(),
    email_address: z.string().openapi({
      description:
        "the caller's own address (from their session) when they may edit the finding, else empty; creators' addresses are not stored",
    }),
    mine: z.boolean(),
    creator_account_id: z.string().optional().openapi({ description: "shown to admins only" }),
  })
  .openapi("IncidentSummary");
export type IncidentSummary = z.infer<typeof IncidentSummary>;

export const Incident = IncidentSummary.extend({ text: z.string() }).openapi("Incident");
export type Incident = z.infer<typeof Incident>;

export const SORT_COLUMNS = ["create_time", "update_time", "start_time", "end_time", "title"] as const;

/** A query parameter given once or repeated (?theme=a&theme=b): always a list. */
const repeated = <T extends z.ZodType<string>>(item: T) =>
  z
    .union([item, z.array(item).max(300)])
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .default([]);

export const SearchQuery = z.object({
  country_code: repeated(z.string().regex(/^[A-Za-z]{2}$/, { error: "must be two letters" }).transform((s) => s.toUpperCase())).openapi({
    description: "findings concerning any of these countries (repeatable)",
  }),
  theme: repeated(z.string().min(1).max(100)).openapi({ description: "findings with any of these themes (repeatable)" }),
  cc: z.string().regex(/^[A-Za-z]{2}$/, { error: "must be two letters" }).optional(),
  asn: z
    .string()
    .regex(/^([Aa][Ss])?[0-9]{1,10}$/, { error: 'must be a number or "AS1234"' })
    .transform((v) => Number(v.replace(/^AS/i, "")))
    .refine((n) => n <= 4_294_967_295, { error: "is out of range" })
    .optional(),
  domain: Hostname.optional(),
  creator: z.string().regex(/^[0-9a-f]{32}$/, { error: "must be an account id (32 lowercase hex digits)" }).optional(),
  only_mine: QueryBool.optional(),
  published: QueryBool.optional(),
  sort_by: z.enum(SORT_COLUMNS).default("create_time"),
  order: z.enum(["asc", "desc"]).default("desc"),
});
export type SearchQuery = z.infer<typeof SearchQuery>;
