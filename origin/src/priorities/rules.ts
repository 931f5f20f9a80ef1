import { z } from "@hono/zod-openapi";
import { computePriorities, selectItems, type Candidate, type Prioritized, type PriorityRule, type TestListItem } from "../testlists/prioritize";

// URL prioritization rules (backend-reference §8): each rule adds `priority` to every test-list URL
// whose category, country, domain and URL it matches, "*" matching anything. Rules are written
// with "*" for "any" (the legacy editor's convention); "" in older rows means the same.

const WILD = "*";
const wildOr = <T extends z.ZodType<string>>(schema: T) =>
  z
    .string()
    .trim()
    .transform((v, ctx) => {
      if (v === "" || v === WILD) return WILD;
      const r = schema.safeParse(v);
      if (!r.success) {
        ctx.addIssue({ code: "custom", message: r.error.issues[0]?.message ?? "invalid value" });
        return z.NEVER;
      }
      return r.data;
    });

const Category = z
  .string()
  .regex(/^[A-Za-z]{2,10}$/, { error: 'must be a category code such as NEWS, or "*"' })
  .transform((v) => v.toUpperCase());
const Country = z
  .string()
  .regex(/^[A-Za-z]{2}$/, { error: 'must be a two-letter country code, or "*"' })
  .transform((v) => v.toUpperCase());
const Domain = z
  .string()
  .max(253)
  .regex(/^([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/, {
    error: 'must be a domain name, or "*"',
  })
  .transform((v) => v.toLowerCase());
const Url = z
  .string()
  .max(2048)
  .refine((v) => /^https?:\/\//i.test(v) && URL.canParse(v), { error: 'must be an http(s) URL, or "*"' });

export const RuleInput = z
  .object({
    category_code: wildOr(Category).default(WILD),
    cc: wildOr(Country).default(WILD),
    domain: wildOr(Domain).default(WILD),
    url: wildOr(Url).default(WILD),
    priority: z.number().int().min(-2_147_483_648).max(2_147_483_647),
  })
  .openapi("UrlPriorityRuleInput");

export const Rule = z
  .object({ category_code: z.string(), cc: z.string(), domain: z.string(), url: z.string(), priority: z.number() })
  .openapi("UrlPriorityRule");
export type Rule = PriorityRule;

export const UpdateRequest = z
  .object({
    old_entry: RuleInput.nullish().openapi({ description: "the rule as it is now (absent: add new_entry)" }),
    new_entry: RuleInput.nullish().openapi({ description: "the rule as it should be (absent: delete old_entry)" }),
  })
  .openapi("UrlPriorityUpdate");

/** Whether two rules apply to the same URLs ("" and "*" both mean any). */
export function sameTarget(a: Rule, b: Rule): boolean {
  const w = (v: string) => (v === "" ? WILD : v);
  return (["category_code", "cc", "domain", "url"] as const).every((k) => w(a[k]) === w(b[k]));
}

export interface DebugList {
  test_items: TestListItem[];
  entries: Prioritized[];
  prio_rules: PriorityRule[];
}

/**
 * What /api/_/debug_prioritization shows: the list a probe would get (with each URL's measurement
 * count, priority and weight), every candidate URL with its priority and weight — including those
 * dropped for priority <= 0, which is what one debugs — and the rules that were applied.
 */
export function debugList(candidates: Candidate[], rules: PriorityRule[], categoryCodes: string[], limit: number): DebugList {
  const prioritized = computePriorities(candidates, rules);
  return { test_items: selectItems(prioritized, categoryCodes, limit, true), entries: prioritized, prio_rules: rules };
}
