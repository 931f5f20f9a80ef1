import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { requireRole } from "../auth/middleware";
import { fail } from "../auth/respond";
import type { Session } from "../auth/tokens";
import { createRouter } from "../http/router";
import { bearerSecurity, err, isoTime, jsonBodyLimit, newNumericId, parseTime, viewerOf } from "../oonirun/write-api";
import { CreateIncident, Incident, IncidentId, IncidentRef, IncidentSummary, SearchQuery, UpdateIncident } from "./schemas";
import { incidentStore, type IncidentRow, type Viewer } from "./store";

// Findings (incidents): anyone reads published ones; logged-in people create findings and edit or
// delete their own; admins publish, unpublish, edit and delete any. An unpublished finding is
// visible only to its creator and to admins — to everyone else it does not exist (404).
// A user's edit unpublishes their finding: what the public sees has been reviewed by an admin.

const TAGS = ["findings"];
const NO_STORE = { "Cache-Control": "no-store" } as const;
const bodyLimit = jsonBodyLimit(512 * 1024);
const jsonBody = <T extends z.ZodType>(schema: T) => ({ required: true, content: { "application/json": { schema } } });
const Written = z.object({ r: z.literal(1), id: z.string() }).openapi("IncidentWritten");
const written = (description: string) => ({ description, content: { "application/json": { schema: Written } } });
const writeErrors = {
  400: err("Invalid request"),
  401: err("Authentication required"),
  403: err("Not allowed (not the creator, or only admins may publish)"),
  413: err("Body too large"),
};

const search = createRoute({
  method: "get",
  path: "/api/v1/incidents/search",
  tags: TAGS,
  summary: "Search findings",
  description:
    "Filters: country_code and theme (repeatable; any of them), cc, asn, domain (each must appear in the finding's lists), " +
    "creator (account id), only_mine, published. " +
    "Sorted by sort_by (create_time, update_time, start_time, end_time, title) in order (default: newest created first). " +
    "Anonymous callers see published findings only.",
  request: { query: SearchQuery },
  responses: {
    200: {
      description: "Findings (without their text)",
      content: {
        "application/json": { schema: z.object({ incidents: z.array(IncidentSummary), v: z.literal(1) }).openapi("IncidentList") },
      },
    },
    400: err("Invalid parameter"),
  },
});

const show = createRoute({
  method: "get",
  path: "/api/v1/incidents/show/{incident_id}",
  tags: TAGS,
  summary: "A finding",
  request: { params: z.object({ incident_id: IncidentId }) },
  responses: {
    200: {
      description: "The finding",
      content: { "application/json": { schema: z.object({ incident: Incident, v: z.literal(1) }).openapi("IncidentShow") } },
    },
    400: err("Invalid id"),
    404: err("No such finding (or not visible to the caller)"),
  },
});

const create = createRoute({
  method: "post",
  path: "/api/v1/incidents/create",
  tags: TAGS,
  summary: "Create a finding (logged in; published only if an admin asks)",
  security: bearerSecurity,
  middleware: [requireRole(), bodyLimit] as const,
  request: { body: jsonBody(CreateIncident) },
  responses: { 200: written("Created"), ...writeErrors },
});

const update = createRoute({
  method: "post",
  path: "/api/v1/incidents/update",
  tags: TAGS,
  summary: "Edit a finding (its creator, or an admin)",
  description: "The whole finding is sent. A non-admin's edit unpublishes it until an admin publishes it again.",
  security: bearerSecurity,
  middleware: [requireRole(), bodyLimit] as const,
  request: { body: jsonBody(UpdateIncident) },
  responses: { 200: written("Updated"), ...writeErrors, 404: err("No such finding") },
});

const remove = createRoute({
  method: "post",
  path: "/api/v1/incidents/delete",
  tags: TAGS,
  summary: "Delete a finding (its creator, or an admin)",
  security: bearerSecurity,
  middleware: [requireRole(), bodyLimit] as const,
  request: { body: jsonBody(IncidentRef) },
  responses: {
    200: { description: "Deleted", content: { "application/json": { schema: z.object({}) } } },
    ...writeErrors,
    404: err("No such finding"),
  },
});

const publishRoute = (action: "publish" | "unpublish") =>
  createRoute({
    method: "post",
    path: `/api/v1/incidents/${action}`,
    tags: TAGS,
    summary: `${action === "publish" ? "Publish" : "Unpublish"} a finding (admin)`,
    security: bearerSecurity,
    middleware: [requireRole("admin"), bodyLimit] as const,
    request: { body: jsonBody(IncidentRef) },
    responses: { 200: written(action === "publish" ? "Published" : "Unpublished"), ...writeErrors, 404: err("No such finding") },
  });

const asViewer = (s: Session | null): Viewer | null => (s ? { accountId: s.accountId, admin: s.role === "admin", emailAddress: s.emailAddress } : null);

const canSee = (r: IncidentRow, v: Viewer | null) => !r.deleted && (r.published || (v !== null && (v.admin || v.accountId === r.creator)));

function summary(r: IncidentRow, v: Viewer | null): z.infer<typeof IncidentSummary> {
  const mine = v !== null && v.accountId === r.creator;
  return {
    id: r.id,
    title: r.title,
    short_description: r.short_description,
    start_time: isoTime(r.startMs),
    end_time: r.endMs === null ? null : isoTime(r.endMs),
    create_time: isoTime(r.createMs),
    update_time: isoTime(r.updateS * 1000),
    reported_by: r.reported_by,
    event_type: r.event_type,
    published: r.published,
    CCs: r.CCs,
    ASNs: r.ASNs,
    domains: r.domains,
    tags: r.tags,
    links: r.links,
    test_names: r.test_names,
    themes: r.themes,
    slug: r.slug || r.id,
    // Explorer's edit form requires an address and shows it read-only. We keep no creator address
    // (upstream does): whoever may edit gets their own, which upstream's update stores anyway.
    email_address: (mine || v?.admin) && v?.emailAddress ? v.emailAddress : "",
    mine,
    ...(v?.admin ? { creator_account_id: r.creator } : {}),
  };
}

const nowS = () => Math.floor(Date.now() / 1000);
const millis = (iso: string) => parseTime(iso);

/** Upstream's slug: the creation year and the title's letters, digits and dashes, at most 64. */
function makeSlug(createMs: number, title: string): string {
  const text = title.toLowerCase().replaceAll(" ", "-").replace(/[^0-9a-z-]+/g, "");
  return `${new Date(createMs).getUTCFullYear()}-${text}`.slice(0, 64);
}

type Outcome = { ok: IncidentRow } | { status: 403 | 404; error: string };
const NOT_FOUND = { status: 404, error: "Incident not found" } as const;

/**
 * Loads the finding under the edit lock and checks the caller may change it: a finding the caller
 * cannot see is "not found"; one they can see but do not own is "forbidden" for non-admins.
 */
async function changeOwn(c: Context<AppEnv>, id: string, fn: (current: IncidentRow, admin: boolean) => IncidentRow): Promise<Outcome> {
  const account = c.get("account");
  const viewer = asViewer(account)!;
  const store = incidentStore(c.get("services").db);
  return store.editing(id, async () => {
    const current = await store.get(id);
    if (!current || !canSee(current, viewer)) return NOT_FOUND;
    if (!viewer.admin && current.creator !== viewer.accountId) return { status: 403, error: "You are not the creator of this incident" };
    const row = fn(current, viewer.admin);
    await store.write({ ...row, updateS: Math.max(nowS(), current.updateS) });
    return { ok: row };
  });
}

function respond(c: Context<AppEnv>, o: Outcome, action: string) {
  if ("status" in o) return o.status === 404 ? fail(c, 404, o.error) : fail(c, 403, o.error);
  c.get("services").log.info({ req_id: c.get("requestId"), account_id: c.get("account").accountId, incident_id: o.ok.id, action }, "incident changed");
  return null;
}

export function incidentRoutes() {
  const app = createRouter();

  app.openapi(search, async (c) => {
    const viewer = asViewer(await viewerOf(c));
    const rows = await incidentStore(c.get("services").db).search(c.req.valid("query"), viewer);
    return c.json({ incidents: rows.map((r) => summary(r, viewer)), v: 1 as const }, 200, NO_STORE);
  });

  app.openapi(show, async (c) => {
    const viewer = asViewer(await viewerOf(c));
    const store = incidentStore(c.get("services").db);
    const key = c.req.valid("param").incident_id;
    // Numeric: an id (as upstream); otherwise a slug (Explorer links findings by slug).
    const row = /^[0-9]+$/.test(key) ? await store.get(key) : await store.bySlug(key);
    if (!row || !canSee(row, viewer)) return fail(c, 404, "Incident not found");
    return c.json({ incident: { ...summary(row, viewer), text: row.text }, v: 1 as const }, 200, NO_STORE);
  });

  app.openapi(create, async (c) => {
    const body = c.req.valid("json");
    const account = c.get("account");
    if (body.published && account.role !== "admin") return fail(c, 403, "Only admins can publish incidents");
    const store = incidentStore(c.get("services").db);
    let id = newNumericId();
    while (await store.get(id)) id = newNumericId();
    const nowMs = Date.now();
    let slug = body.slug || makeSlug(nowMs, body.title);
    // Slugs name one finding: a taken one gets the id appended.
    if (/^[0-9]+$/.test(slug) || (await store.bySlug(slug))) slug = `${slug.slice(0, 64 - id.length - 1)}-${id}`;
    const row: IncidentRow = {
      id,
      title: body.title,
      short_description: body.short_description,
      text: body.text,
      startMs: millis(body.start_time),
      endMs: body.end_time ? millis(body.end_time) : null,
      createMs: nowMs,
      updateS: Math.floor(nowMs / 1000),
      reported_by: body.reported_by,
      event_type: body.event_type,
      published: body.published,
      deleted: false,
      creator: account.accountId,
      CCs: body.CCs,
      ASNs: body.ASNs,
      domains: body.domains,
      tags: body.tags,
      links: body.links,
      test_names: body.test_names,
      themes: body.themes,
      slug,
    };
    await store.write(row);
    c.get("services").log.info({ req_id: c.get("requestId"), account_id: account.accountId, incident_id: id }, "incident created");
    return c.json({ r: 1 as const, id }, 200, NO_STORE);
  });

  app.openapi(update, async (c) => {
    const body = c.req.valid("json");
    if (body.published && c.get("account").role !== "admin") return fail(c, 403, "Only admins can publish incidents");
    const o = await changeOwn(c, body.id, (cur, admin) => ({
      ...cur,
      title: body.title,
      short_description: body.short_description,
      text: body.text,
      startMs: millis(body.start_time),
      endMs: body.end_time ? millis(body.end_time) : null,
      reported_by: body.reported_by,
      event_type: body.event_type,
      published: admin ? (body.published ?? cur.published) : false,
      CCs: body.CCs,
      ASNs: body.ASNs,
      domains: body.domains,
      tags: body.tags,
      links: body.links,
      test_names: body.test_names,
      themes: body.themes,
      // Explorer sends the slug back as it got it; an absent one keeps the current.
      slug: body.slug || cur.slug,
    }));
    return respond(c, o, "update") ?? c.json({ r: 1 as const, id: body.id }, 200, NO_STORE);
  });

  app.openapi(remove, async (c) => {
    const { id } = c.req.valid("json");
    const o = await changeOwn(c, id, (cur) => ({ ...cur, deleted: true }));
    return respond(c, o, "delete") ?? c.json({}, 200, NO_STORE);
  });

  for (const action of ["publish", "unpublish"] as const) {
    app.openapi(publishRoute(action), async (c) => {
      const { id } = c.req.valid("json");
      const o = await changeOwn(c, id, (cur) => ({ ...cur, published: action === "publish" }));
      return respond(c, o, action) ?? c.json({ r: 1 as const, id }, 200, NO_STORE);
    });
  }

  return app;
}
