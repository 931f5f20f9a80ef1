import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { EmailAddress } from "../auth/account-id";
import { requireRole } from "../auth/middleware";
import { fail } from "../auth/respond";
import { formatAsn } from "../geoip/geoip";
import { createRouter } from "../http/router";
import { answerNettests, metaOf, normalizeNettests, planEdit, toLink, type LinkRow } from "./descriptor";
import { expandNettests } from "./dynamic";
import { EngineDescriptor, EngineRequest, Link, LinkId, LinkInput, RevisionParam } from "./schemas";
import { oonirunStore, storableId } from "./store";
import { bearerSecurity, err, isoTime, jsonBodyLimit, newNumericId, QueryBool, viewerOf } from "./write-api";

// OONI Run v2 (spec bk-005): logged-in people create and edit links (owners their own, admins
// any); anyone reads them; probes fetch the engine descriptor, with dynamic URL lists computed for
// their network. Links are never deleted: setting expiration_date in the past retires one.

const TAGS = ["oonirun"];
const NO_STORE = { "Cache-Control": "no-store" } as const;
const bodyLimit = jsonBodyLimit(1024 * 1024);
const IdParams = z.object({ oonirun_link_id: LinkId });
const RevParams = IdParams.extend({ revision_number: RevisionParam });
const jsonBody = <T extends z.ZodType>(schema: T) => ({ required: true, content: { "application/json": { schema } } });
const linkOk = (description: string) => ({ description, content: { "application/json": { schema: Link } } });

const createLink = createRoute({
  method: "post",
  path: "/api/v2/oonirun/links",
  tags: TAGS,
  summary: "Create an OONI Run link (logged in)",
  security: bearerSecurity,
  middleware: [requireRole(), bodyLimit] as const,
  request: { body: jsonBody(LinkInput) },
  responses: {
    200: linkOk("The new link, revision 1"),
    400: err("Invalid descriptor (e.g. inputs together with targets_name)"),
    401: err("Authentication required"),
    413: err("Body too large"),
  },
});

const editLink = createRoute({
  method: "put",
  path: "/api/v2/oonirun/links/{oonirun_link_id}",
  tags: TAGS,
  summary: "Edit an OONI Run link (its owner, or an admin)",
  description:
    "A change to the nettests makes a new revision; any other change (names, descriptions, translations, icon, " +
    "colour, expiry) keeps the revision. An expired link can no longer be edited by its owner (admins still can).",
  security: bearerSecurity,
  middleware: [requireRole(), bodyLimit] as const,
  request: { params: IdParams, body: jsonBody(LinkInput) },
  responses: {
    200: linkOk("The link after the edit"),
    400: err("Invalid descriptor"),
    401: err("Authentication required"),
    403: err("Not the owner, or the link has expired"),
    404: err("No such link"),
    413: err("Body too large"),
  },
});

const getLink = createRoute({
  method: "get",
  path: "/api/v2/oonirun/links/{oonirun_link_id}",
  tags: TAGS,
  summary: "An OONI Run link, latest revision (or ?revision=N)",
  description: "Dynamic lists (targets_name) are not expanded here: their inputs are [].",
  request: {
    params: IdParams,
    query: z.object({ revision: z.string().regex(/^[0-9]{1,9}$/, { error: "must be a revision number" }).optional() }),
  },
  responses: { 200: linkOk("The link"), 400: err("Invalid id or revision"), 404: err("No such link or revision") },
});

const fullDescriptor = createRoute({
  method: "get",
  path: "/api/v2/oonirun/links/{oonirun_link_id}/full-descriptor/{revision_number}",
  tags: TAGS,
  summary: "An OONI Run link at a revision (a number, or latest)",
  request: { params: RevParams },
  responses: { 200: linkOk("The link at that revision"), 400: err("Invalid id or revision"), 404: err("No such link or revision") },
});

const revisions = createRoute({
  method: "get",
  path: "/api/v2/oonirun/links/{oonirun_link_id}/revisions",
  tags: TAGS,
  summary: "The revisions of an OONI Run link, newest first",
  request: { params: IdParams },
  responses: {
    200: {
      description: "Revision numbers",
      content: { "application/json": { schema: z.object({ revisions: z.array(z.string()) }).openapi("OONIRunRevisions") } },
    },
    400: err("Invalid id"),
    404: err("No such link"),
  },
});

const engineDescriptor = createRoute({
  method: "post",
  path: "/api/v2/oonirun/links/{oonirun_link_id}/engine-descriptor/{revision_number}",
  tags: TAGS,
  summary: "What a probe runs for a link: nettests with dynamic URL lists computed for its network",
  description:
    "A nettest with targets_name websites_list_prioritized gets the prioritized web_connectivity list for the probe's " +
    "probe_cc/probe_asn (or, when it sends ZZ/AS0, for the network of its address), filtered by website_category_codes; " +
    "as many URLs as check-in gives (manual run: all; charging: 100; otherwise 20).",
  middleware: [jsonBodyLimit(64 * 1024)] as const,
  request: { params: RevParams, body: jsonBody(EngineRequest) },
  responses: {
    200: { description: "Engine descriptor", content: { "application/json": { schema: EngineDescriptor } } },
    400: err("Invalid id, revision or body"),
    404: err("No such link or revision"),
    413: err("Body too large"),
  },
});

const listLinks = createRoute({
  method: "get",
  path: "/api/v2/oonirun/links",
  tags: TAGS,
  summary: "List OONI Run links",
  description:
    "Unexpired links, most recently changed first. is_mine=true: only the caller's (none when not logged in); " +
    "is_expired=true: expired links too; only_latest=false: one entry per revision.",
  request: {
    query: z.object({ is_mine: QueryBool.optional(), is_expired: QueryBool.optional(), only_latest: QueryBool.optional() }),
  },
  responses: {
    200: {
      description: "Links",
      content: {
        "application/json": {
          schema: z
            .object({
              oonirun_links: z.array(Link).openapi({ description: "the links (upstream's name, what the OONI Run app reads)" }),
              links: z.array(Link).openapi({ description: "the same list under spec bk-005's name" }),
            })
            .openapi("OONIRunLinks"),
        },
      },
    },
    400: err("Invalid parameter"),
  },
});

const notFound = (c: Context<AppEnv>) => fail(c, 404, "OONI Run link not found");

/**
 * The author is public. A user may publish nothing ("") or their own address — checked by hashing
 * it into an account id, so no address is ever needed to verify it — but not someone else's, so a
 * link cannot pass itself off as another person's. Admins may set any author.
 */
function authorAllowed(c: Context<AppEnv>, author: string): boolean {
  const account = c.get("account");
  if (author === "" || account.role === "admin") return true;
  const email = EmailAddress.safeParse(author);
  return email.success && c.get("services").auth.hasher.accountId(email.data) === account.accountId;
}
const badAuthor = (c: Context<AppEnv>) =>
  fail(c, 400, "invalid author: must be empty or your own email address", { parameter: "author", in: "json" });

/** The latest row and the row of `revision` ("latest" or a number), or null when either is missing. */
async function rowsAt(c: Context<AppEnv>, rawId: string, revision: string): Promise<{ latest: LinkRow; rev: LinkRow } | null> {
  const id = storableId(rawId);
  if (id === null) return null;
  const store = oonirunStore(c.get("services").db);
  const latest = await store.latest(id);
  if (!latest) return null;
  if (revision === "latest" || Number(revision) === latest.revision) return { latest, rev: latest };
  const rev = await store.revision(id, Number(revision));
  return rev ? { latest, rev } : null;
}

export function oonirunRoutes() {
  const app = createRouter();

  app.openapi(createLink, async (c) => {
    const input = c.req.valid("json");
    const account = c.get("account");
    if (!authorAllowed(c, input.author)) return badAuthor(c);
    const store = oonirunStore(c.get("services").db);
    const now = Date.now();
    let id = newNumericId();
    while (await store.exists(id)) id = newNumericId();
    const row: LinkRow = {
      ...metaOf(input, now),
      id,
      revision: 1,
      translationRevision: 0,
      dateCreatedMs: now,
      dateUpdatedMs: now,
      creator: account.accountId,
      nettests: normalizeNettests(input.nettests),
    };
    await store.insert(row);
    c.get("services").log.info({ req_id: c.get("requestId"), account_id: account.accountId, oonirun_link_id: id }, "oonirun link created");
    return c.json(toLink(row, row, account), 200);
  });

  app.openapi(editLink, async (c) => {
    const rawId = c.req.valid("param").oonirun_link_id;
    const input = c.req.valid("json");
    const account = c.get("account");
    const id = storableId(rawId);
    if (id === null) return notFound(c);
    const store = oonirunStore(c.get("services").db);
    const result = await store.editing(id, async (): Promise<{ status: 400 | 403 | 404; error: string } | { row: LinkRow }> => {
      const latest = await store.latest(id);
      if (!latest) return { status: 404, error: "OONI Run link not found" };
      const admin = account.role === "admin";
      if (!admin && latest.creator !== account.accountId) {
        return { status: 403, error: "You are not the owner of this OONI Run link" };
      }
      const now = Date.now();
      if (!admin && latest.expirationMs <= now) {
        return { status: 403, error: "OONI Run link has expired and cannot be edited" };
      }
      if (!authorAllowed(c, input.author)) return { status: 400, error: "author" };
      const edit = planEdit(latest, metaOf(input, now, latest.expirationMs), normalizeNettests(input.nettests), now);
      if (edit.kind === "unchanged") return { row: latest };
      await store.insert(edit.row);
      c.get("services").log.info(
        { req_id: c.get("requestId"), account_id: account.accountId, oonirun_link_id: id, change: edit.kind, revision: edit.row.revision },
        "oonirun link edited",
      );
      return { row: edit.row };
    });
    if ("error" in result) {
      if (result.status === 400) return badAuthor(c);
      return result.status === 404 ? notFound(c) : fail(c, 403, result.error);
    }
    return c.json(toLink(result.row, result.row, account), 200);
  });

  app.openapi(getLink, async (c) => {
    const { oonirun_link_id: id } = c.req.valid("param");
    const rows = await rowsAt(c, id, c.req.valid("query").revision ?? "latest");
    if (!rows) return notFound(c);
    return c.json(toLink(rows.latest, rows.rev, await viewerOf(c)), 200, NO_STORE);
  });

  app.openapi(fullDescriptor, async (c) => {
    const { oonirun_link_id: id, revision_number } = c.req.valid("param");
    const rows = await rowsAt(c, id, revision_number);
    if (!rows) return notFound(c);
    return c.json(toLink(rows.latest, rows.rev, await viewerOf(c)), 200, NO_STORE);
  });

  app.openapi(revisions, async (c) => {
    const id = storableId(c.req.valid("param").oonirun_link_id);
    const list = id === null ? [] : await oonirunStore(c.get("services").db).revisions(id);
    if (list.length === 0) return notFound(c);
    return c.json({ revisions: list.map(String) }, 200, NO_STORE);
  });

  app.openapi(engineDescriptor, async (c) => {
    const { oonirun_link_id: id, revision_number } = c.req.valid("param");
    const body = c.req.valid("json");
    const rows = await rowsAt(c, id, revision_number);
    if (!rows) return notFound(c);
    const { geoip, probe } = c.get("services");
    // As check-in: the probe's own network drives the list unless it does not know it.
    let cc = body.probe_cc.toUpperCase();
    let asnText = body.probe_asn.toUpperCase();
    if (cc === "ZZ" && asnText === "AS0") {
      const geo = geoip.lookup(c.get("clientIp"));
      cc = geo.cc;
      asnText = formatAsn(geo.asn);
    }
    const asn = Number(asnText.slice(2));
    if (asn > 0xffffffff) return fail(c, 400, "invalid probe_asn: out of range", { parameter: "probe_asn", in: "json" });
    const expanded = await expandNettests(rows.rev.nettests, body, { cc, asn }, probe.testLists);
    // A probe always gets a list of inputs (empty when the link has none).
    const nettests = answerNettests(expanded).map((n) => ({ ...n, inputs: n.inputs ?? [] }));
    return c.json({ revision: String(rows.rev.revision), date_created: isoTime(rows.rev.dateCreatedMs), nettests }, 200, {
      ...NO_STORE,
      Vary: "X-OONI-Credentials",
    });
  });

  app.openapi(listLinks, async (c) => {
    const q = c.req.valid("query");
    const viewer = await viewerOf(c);
    const store = oonirunStore(c.get("services").db);
    const now = Date.now();
    const latest = await store.listLatest({
      mine: q.is_mine ? (viewer?.accountId ?? null) : undefined,
      includeExpired: q.is_expired ?? false,
      nowMs: now,
    });
    if (q.only_latest ?? true) {
      const links = latest.map((l) => toLink(l, l, viewer, now));
      return c.json({ oonirun_links: links, links }, 200, NO_STORE);
    }
    const revs = new Map<string, LinkRow[]>();
    for (const r of await store.allRevisions(latest.map((l) => l.id))) revs.set(r.id, [...(revs.get(r.id) ?? []), r]);
    const links = latest.flatMap((l) => (revs.get(l.id) ?? [l]).map((r) => toLink(l, r, viewer, now)));
    return c.json({ oonirun_links: links, links }, 200, NO_STORE);
  });

  return app;
}
