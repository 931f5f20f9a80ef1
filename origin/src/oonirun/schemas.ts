import { z } from "@hono/zod-openapi";
import { jsonDepthExceeds, MAX_JSON_DEPTH } from "../http/json-depth";
import { parseTime } from "./write-api";

// OONI Run v2 descriptors (spec bk-005; field names as in docs/../probe-contract): what a link
// creator sends, what every reader gets back, and what a probe sends to get the engine descriptor.

/** `targets_name` values this backend knows how to expand into an input list. */
export const DYNAMIC_TARGETS = ["websites_list_prioritized"] as const;

const TestName = z.string().regex(/^[a-z0-9_]{2,100}$/, { error: "must be a test name such as web_connectivity" });
const Input = z.string().min(1).max(2048);
// Free-form, but bounded in depth: stored descriptors go through recursive serialisation.
const shallow = <T extends z.ZodType>(schema: T) =>
  schema.refine((v) => !jsonDepthExceeds(v, MAX_JSON_DEPTH), { error: `must not nest deeper than ${MAX_JSON_DEPTH} levels` });
const Extra = shallow(z.record(z.string(), z.unknown()));

export const NettestInput = z
  .object({
    test_name: TestName,
    inputs: z.array(Input).max(10_000).nullish(),
    inputs_extra: z.array(Extra).max(10_000).nullish(),
    targets_name: z.enum(DYNAMIC_TARGETS).nullish(),
    options: shallow(z.record(z.string(), z.unknown())).nullish(),
    // Upstream's current names (what the OONI Run app sends) and spec bk-005's; either is accepted,
    // the `_default` one wins when both are given, and absent means enabled (bk-005).
    is_background_run_enabled_default: z.boolean().optional(),
    is_manual_run_enabled_default: z.boolean().optional(),
    is_background_run_enabled: z.boolean().optional(),
    is_manual_run_enabled: z.boolean().optional(),
  })
  .superRefine((n, ctx) => {
    // A dynamic list replaces the inputs: giving both would be ambiguous (spec: a 4xx), even [].
    if (n.targets_name != null && (n.inputs != null || n.inputs_extra != null)) {
      ctx.addIssue({ code: "custom", path: ["targets_name"], message: "cannot be given together with inputs or inputs_extra" });
    }
    if (n.inputs_extra != null && n.inputs_extra.length !== (n.inputs ?? []).length) {
      ctx.addIssue({ code: "custom", path: ["inputs_extra"], message: "must have one entry per input" });
    }
  })
  .openapi("OONIRunNettestInput");

const Lang = z.string().regex(/^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8}){0,3}$/, { error: "must be a language code such as it or pt_BR" });
const intl = (max: number) =>
  z
    .record(Lang, z.string().min(2, { error: "must be at least 2 characters" }).max(max))
    .refine((r) => Object.keys(r).length <= 200, { error: "has too many languages" })
    .nullish();

// DateTime64 holds 1900..2299; links are created now, so anything before 1970 is a mistake too.
const LATEST_MS = Date.UTC(2299, 11, 31);
const DateInput = z.iso
  .datetime({ offset: true, local: true, error: "must be an ISO 8601 time such as 2030-01-01T00:00:00Z" })
  .refine((v) => {
    const ms = parseTime(v);
    return ms >= 0 && ms <= LATEST_MS;
  }, { error: "must be between 1970 and 2299" })
  .openapi({ example: "2030-01-01T00:00:00.000000Z" });

export const LinkInput = z
  .object({
    name: z.string().trim().min(2).max(50),
    name_intl: intl(50),
    short_description: z.string().max(200).default(""),
    short_description_intl: intl(200),
    description: z.string().min(2).max(20_000),
    description_intl: intl(20_000),
    author: z.string().trim().max(100).default("").openapi({ description: "public: empty, or (except for admins) your own email address" }),
    icon: z
      .string()
      .max(100)
      .regex(/^[^\u0000-\u001f\u007f]*$/, { error: "must not contain control characters" })
      .nullish()
      .openapi({ description: "an icon name; \"\" (what the OONI Run app sends for none) is kept as \"\", an absent icon is null" }),
    color: z.string().regex(/^#[0-9a-fA-F]{6}$/, { error: "must be a color such as #12abEF" }).nullish(),
    expiration_date: DateInput.nullish().openapi({ description: "default: 180 days from creation; an edit without it keeps the expiry" }),
    nettests: z.array(NettestInput).min(1).max(100),
  })
  .openapi("OONIRunLinkInput");
export type LinkInput = z.infer<typeof LinkInput>;

/** A nettest as stored: inputs as posted (null when none were sent, as for a dynamic list). */
export interface Nettest {
  test_name: string;
  inputs: string[] | null;
  inputs_extra: Record<string, unknown>[] | null;
  targets_name: string | null;
  options: Record<string, unknown>;
  is_background_run_enabled: boolean;
  is_manual_run_enabled: boolean;
}

/** A nettest as answered: as upstream echoes it (its field names, inputs as posted). */
export const NettestOut = z
  .object({
    test_name: z.string(),
    inputs: z.array(z.string()).nullable(),
    inputs_extra: z.array(Extra).nullable(),
    targets_name: z.string().nullable(),
    options: z.record(z.string(), z.unknown()),
    is_background_run_enabled_default: z.boolean(),
    is_manual_run_enabled_default: z.boolean(),
  })
  .openapi("OONIRunNettest");
export type NettestOut = z.infer<typeof NettestOut>;

const Intl = z.record(z.string(), z.string()).nullable();

export const Link = z
  .object({
    oonirun_link_id: z.string(),
    name: z.string(),
    name_intl: Intl,
    short_description: z.string(),
    short_description_intl: Intl,
    description: z.string(),
    description_intl: Intl,
    author: z.string(),
    icon: z.string().nullable(),
    color: z.string().nullable(),
    expiration_date: z.string(),
    nettests: z.array(NettestOut),
    revision: z.string().openapi({ description: "a decimal number; grows when the nettests change" }),
    date_created: z.string().openapi({ description: "when this revision was created" }),
    date_updated: z.string().openapi({ description: "when the link last changed (translations included)" }),
    is_mine: z.boolean(),
    is_expired: z.boolean(),
  })
  .openapi("OONIRunLink");
export type Link = z.infer<typeof Link>;

export const LinkId = z.string().regex(/^[0-9]{1,20}$/, { error: "must be a number" });
export const RevisionParam = z.string().regex(/^(latest|[0-9]{1,9})$/, { error: 'must be "latest" or a revision number' });

export const EngineRequest = z
  .object({
    is_charging: z.boolean().default(false),
    run_type: z.enum(["timed", "manual"]).default("timed"),
    probe_cc: z.string().regex(/^[A-Za-z]{2}$/, { error: "must be two letters" }).default("ZZ"),
    probe_asn: z.string().regex(/^[Aa][Ss][0-9]{1,10}$/, { error: 'must look like "AS1234"' }).default("AS0"),
    network_type: z.string().regex(/^[A-Za-z0-9_]{0,32}$/).optional(),
    website_category_codes: z.array(z.string().regex(/^[A-Za-z]{1,20}$/)).max(100).default([]),
  })
  .openapi("OONIRunEngineRequest");
export type EngineRequest = z.infer<typeof EngineRequest>;

export const EngineDescriptor = z
  .object({ revision: z.string(), date_created: z.string(), nettests: z.array(NettestOut) })
  .openapi("OONIRunEngineDescriptor");
