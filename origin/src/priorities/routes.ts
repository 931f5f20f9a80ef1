import { createRoute, z } from "@hono/zod-openapi";
import { toCsv } from "../aggregation/csv";
import { requireRole } from "../auth/middleware";
import { fail } from "../auth/respond";
import { queryRows } from "../db/clickhouse";
import { createRouter } from "../http/router";
import { bearerSecurity, err, jsonBodyLimit } from "../oonirun/write-api";
import { computePriorities, type Candidate } from "../testlists/prioritize";
import { canonicalJson } from "../oonirun/descriptor";
import { debugList, Rule, UpdateRequest } from "./rules";
import { priorityStore, UpdateConflict } from "./store";

// Test-list prioritization management (backend-reference §8): admins list and change the rules;
// anyone may see how the rules and this week's measurement counts order a country's URL list.

const TAGS = ["test lists"];
const NO_STORE = { "Cache-Control": "no-store" } as const;

const listRoute = createRoute({
  method: "get",
  path: "/api/_/url-priorities/list",
  tags: TAGS,
  summary: "URL prioritization rules (admin)",
  security: bearerSecurity,
  middleware: [requireRole("admin")] as const,
  responses: {
    200: { description: "Rules", content: { "application/json": { schema: z.object({ rules: z.array(Rule) }).openapi("UrlPriorityRules") } } },
    401: err("Authentication required"),
    403: err("Role not authorized"),
  },
});

const updateRoute = createRoute({
  method: "post",
  path: "/api/_/url-priorities/update",
  tags: TAGS,
  summary: "Add, change or delete a URL prioritization rule (admin)",
  description:
    "old_entry absent: add new_entry. new_entry absent: delete old_entry. Both: replace. old_entry must be the rule " +
    'as it is now (409 otherwise, e.g. someone changed it meanwhile). Empty fields mean "*" (any). Answers 1.',
  security: bearerSecurity,
  middleware: [requireRole("admin"), jsonBodyLimit(16 * 1024)] as const,
  request: { body: { required: true, content: { "application/json": { schema: UpdateRequest } } } },
  responses: {
    200: { description: "Done", content: { "application/json": { schema: z.literal(1) } } },
    400: err("Invalid rule, or no change proposed"),
    401: err("Authentication required"),
    403: err("Role not authorized"),
    409: err("old_entry is not a current rule, or new_entry duplicates one"),
    413: err("Body too large"),
  },
});

const DebugItem = z
  .object({ category_code: z.string(), url: z.string(), country_code: z.string(), msmt_cnt: z.number().optional(), priority: z.number().optional(), weight: z.number().optional() })
  .openapi("PrioritizedUrl");
const DebugEntry = z
  .object({ category_code: z.string(), domain: z.string(), url: z.string(), cc: z.string(), msmt_cnt: z.number(), priority: z.number(), weight: z.number() })
  .openapi("PrioritizationCandidate");

const debugRoute = createRoute({
  method: "get",
  path: "/api/_/debug_prioritization",
  tags: TAGS,
  summary: "How the URL list of a country (and network) is prioritized",
  description:
    "test_items: the list a probe would get, with measurement counts, priorities and weights; entries: every " +
    "candidate URL with its priority and weight (also those dropped for priority <= 0); prio_rules: the rules applied.",
  request: {
    query: z.object({
      probe_cc: z.string().regex(/^[A-Za-z]{2}$/, { error: "must be two letters" }).default("ZZ"),
      probe_asn: z
        .string()
        .regex(/^([Aa][Ss])?[0-9]{1,10}$/, { error: 'must be a number or "AS1234"' })
        .transform((v) => Number(v.replace(/^AS/i, "")))
        .refine((n) => n <= 4_294_967_295, { error: "is out of range" })
        .optional(),
      category_codes: z.string().regex(/^[A-Za-z, ]{0,2000}$/, { error: "must be comma-separated category codes" }).optional(),
      limit: z.coerce.number().int().min(-1).max(9999).refine((n) => n !== 0, { error: "must be -1 or 1..9999" }).default(-1),
    }),
  },
  responses: {
    200: {
      description: "Prioritization",
      content: {
        "application/json": {
          schema: z.object({ test_items: z.array(DebugItem), entries: z.array(DebugEntry), prio_rules: z.array(Rule) }).openapi("DebugPrioritization"),
        },
      },
    },
    400: err("Invalid parameter"),
  },
});

const countriesRoute = createRoute({
  method: "get",
  path: "/api/_/show_countries_prioritization",
  tags: TAGS,
  summary: "Priority of every country-specific and global test-list URL, with last week's measurements",
  request: { query: z.object({ format: z.enum(["JSON", "CSV", "json", "csv"]).default("JSON") }) },
  responses: {
    200: {
      description: "One entry per test-list URL and country, by country then highest priority",
      content: {
        "application/json": {
          schema: z
            .array(
              z.object({
                domain: z.string(),
                url: z.string(),
                cc: z.string(),
                category_code: z.string(),
                msmt_cnt: z.number(),
                anomaly_perc: z.number(),
                priority: z.number(),
              }),
            )
            .openapi("CountriesPrioritization"),
        },
        "text/csv": { schema: z.string() },
      },
    },
    400: err("Invalid parameter"),
  },
});

// Last week's measurement and anomaly counts of every test-list URL in its own country.
const COUNTRIES = `
SELECT c.domain AS domain, c.url AS url, toString(c.cc) AS cc, c.category_code AS category_code,
       toUInt64(x.msmt_cnt) AS msmt_cnt, toInt64(x.anomaly_perc) AS anomaly_perc
FROM (SELECT DISTINCT domain, url, cc, category_code FROM citizenlab) AS c
LEFT JOIN (
  SELECT input, probe_cc, count() AS msmt_cnt, toInt8(countIf(anomaly = 't') / count() * 100) AS anomaly_perc
  FROM fastpath
  WHERE measurement_start_time > now() - INTERVAL 1 WEEK AND measurement_start_time < now()
  GROUP BY input, probe_cc
) AS x ON x.input = c.url AND x.probe_cc = upper(toString(c.cc))`;

const ALL_RULES = "SELECT category_code, cc, domain, url, priority FROM url_priorities FINAL WHERE sign = 1";

function categoryList(v: string | undefined): string[] {
  return [...new Set((v ?? "").split(",").map((c) => c.trim().toUpperCase()).filter((c) => c !== ""))];
}

export function priorityRoutes() {
  const app = createRouter();

  app.openapi(listRoute, async (c) => {
    return c.json({ rules: await priorityStore(c.get("services").db).list() }, 200);
  });

  app.openapi(updateRoute, async (c) => {
    const { old_entry, new_entry } = c.req.valid("json");
    const old = old_entry ?? null;
    const next = new_entry ?? null;
    if ((!old && !next) || (old && next && canonicalJson(old) === canonicalJson(next))) {
      return fail(c, 400, "No proposed changes", { parameter: "body", in: "json" });
    }
    try {
      await priorityStore(c.get("services").db).update(old, next);
    } catch (e) {
      if (e instanceof UpdateConflict) return fail(c, 409, e.message);
      throw e;
    }
    // Probes of this host get lists ordered by the new rules from the next check-in on; other
    // hosts notice the changed checksum at their next poll. The rule is stored either way.
    await c
      .get("services")
      .probe.testLists.reload()
      .catch(() => {});
    c.get("services").log.info({ req_id: c.get("requestId"), account_id: c.get("account").accountId, old, new: next }, "url priority rule changed");
    return c.json(1 as const, 200);
  });

  app.openapi(debugRoute, async (c) => {
    const q = c.req.valid("query");
    const cc = q.probe_cc.toUpperCase();
    const { testListQueries } = c.get("services").probe;
    const [candidates, rules] = await Promise.all([testListQueries.fetchCandidates(cc, q.probe_asn ?? 0), testListQueries.fetchRules(cc)]);
    const out = debugList(candidates, rules, categoryList(q.category_codes), q.limit === -1 ? 9999 : q.limit);
    return c.json(out, 200, NO_STORE);
  });

  app.openapi(countriesRoute, async (c) => {
    const { db } = c.get("services");
    const [rows, rules] = await Promise.all([
      queryRows<Candidate & { anomaly_perc: number }>(db, COUNTRIES),
      queryRows<Rule>(db, ALL_RULES),
    ]);
    const anomaly = new Map(rows.map((r) => [`${r.cc}\n${r.url}`, Number(r.anomaly_perc)]));
    const list = computePriorities(
      rows.map((r) => ({ domain: r.domain, url: r.url, cc: r.cc, category_code: r.category_code, msmt_cnt: Number(r.msmt_cnt) })),
      rules.map((r) => ({ ...r, priority: Number(r.priority) })),
    )
      .map((p) => ({
        domain: p.domain,
        url: p.url,
        cc: p.cc.toUpperCase(),
        category_code: p.category_code,
        msmt_cnt: p.msmt_cnt,
        anomaly_perc: anomaly.get(`${p.cc}\n${p.url}`) ?? 0,
        priority: p.priority,
      }))
      .sort((a, b) => (a.cc < b.cc ? -1 : a.cc > b.cc ? 1 : b.priority - a.priority || (a.url < b.url ? -1 : a.url > b.url ? 1 : 0)));
    const cache = { "Cache-Control": "public, max-age=1" };
    if (c.req.valid("query").format.toUpperCase() === "CSV") {
      const columns = ["domain", "url", "cc", "category_code", "msmt_cnt", "anomaly_perc", "priority"];
      return c.body(toCsv(columns, list), 200, { ...cache, "Content-Type": "text/csv; charset=utf-8" });
    }
    return c.json(list, 200, cache);
  });

  return app;
}
