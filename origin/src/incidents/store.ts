import { queryRows, type Database } from "../db/clickhouse";
import { KeyedMutex } from "../oonirun/write-api";
import type { SearchQuery } from "./schemas";

// Findings in ClickHouse: table `incidents`, ReplacingMergeTree(update_time) ordered by id. Every
// change (edit, publish, delete) inserts the whole row again with a newer update_time; reads use
// FINAL, which keeps the newest row per id (the last inserted when two share a second), so a
// change is visible to the very next read. Deleting sets `deleted` (the row stays for the record
// until a merge; readers never see it).

export interface IncidentRow {
  id: string;
  title: string;
  short_description: string;
  text: string;
  /** Milliseconds since the epoch (start, end and creation keep their milliseconds). */
  startMs: number;
  endMs: number | null;
  createMs: number;
  /** The row version, whole seconds. */
  updateS: number;
  reported_by: string;
  event_type: string;
  published: boolean;
  deleted: boolean;
  creator: string;
  CCs: string[];
  ASNs: number[];
  domains: string[];
  tags: string[];
  links: string[];
  test_names: string[];
  themes: string[];
  /** Upstream's readable handle ("2024-internet-blocked-in-x"); show/{slug} finds it. */
  slug: string;
}

interface DbRow {
  id: string;
  title: string;
  short_description: string;
  text: string;
  start_ms: number | string;
  end_ms: number | string | null;
  create_ms: number | string;
  update_s: number;
  reported_by: string;
  event_type: string;
  published: number;
  deleted: number;
  creator: string;
  CCs: string[];
  ASNs: number[];
  domains: string[];
  tags: string[];
  links: string[];
  test_names: string[];
  themes: string[];
  slug: string;
}

const COLUMNS = `id, title, short_description, text,
  toUnixTimestamp64Milli(start_time) AS start_ms, toUnixTimestamp64Milli(end_time) AS end_ms,
  toUnixTimestamp64Milli(create_time) AS create_ms, toUnixTimestamp(update_time) AS update_s,
  reported_by, event_type, published, deleted, toString(creator_account_id) AS creator,
  CCs, ASNs, domains, tags, links, test_names, themes, slug`;

// Fixed SQL per sort key: the query never contains client text.
const ORDER_BY: Record<SearchQuery["sort_by"], string> = {
  create_time: "create_time",
  update_time: "update_time",
  start_time: "start_time",
  end_time: "end_time",
  title: "title",
};

function fromDb(r: DbRow): IncidentRow {
  return {
    id: r.id,
    title: r.title,
    short_description: r.short_description,
    text: r.text,
    startMs: Number(r.start_ms),
    endMs: r.end_ms === null ? null : Number(r.end_ms),
    createMs: Number(r.create_ms),
    updateS: Number(r.update_s),
    reported_by: r.reported_by,
    event_type: r.event_type,
    published: Number(r.published) === 1,
    deleted: Number(r.deleted) === 1,
    creator: r.creator,
    CCs: r.CCs,
    ASNs: r.ASNs.map(Number),
    domains: r.domains,
    tags: r.tags,
    links: r.links,
    test_names: r.test_names,
    themes: r.themes,
    slug: r.slug,
  };
}

const sqlTime = (ms: number) => new Date(ms).toISOString();

export interface Viewer {
  accountId: string;
  admin: boolean;
  /** From the session token, when it carries one. */
  emailAddress?: string | null;
}

export class IncidentStore {
  readonly #edits = new KeyedMutex();

  constructor(private readonly db: Database) {}

  /** The newest live finding with this slug (slugs are made unique at creation; an edit may reuse one). */
  async bySlug(slug: string): Promise<IncidentRow | null> {
    const rows = await queryRows<DbRow>(
      this.db,
      `SELECT ${COLUMNS} FROM incidents FINAL WHERE slug = {slug:String} AND deleted = 0 ORDER BY create_time DESC LIMIT 1`,
      { slug },
    );
    return rows[0] ? fromDb(rows[0]) : null;
  }

  /** The newest version of the finding, deleted or not; null when it never existed. */
  async get(id: string): Promise<IncidentRow | null> {
    const rows = await queryRows<DbRow>(this.db, `SELECT ${COLUMNS} FROM incidents FINAL WHERE id = {id:String} LIMIT 1`, { id });
    return rows[0] ? fromDb(rows[0]) : null;
  }

  async write(r: IncidentRow): Promise<void> {
    await this.db.client.insert({
      table: "incidents",
      format: "JSONEachRow",
      values: [
        {
          id: r.id,
          title: r.title,
          short_description: r.short_description,
          text: r.text,
          event_type: r.event_type,
          published: r.published ? 1 : 0,
          deleted: r.deleted ? 1 : 0,
          reported_by: r.reported_by,
          creator_account_id: r.creator,
          start_time: sqlTime(r.startMs),
          end_time: r.endMs === null ? null : sqlTime(r.endMs),
          create_time: sqlTime(r.createMs),
          update_time: sqlTime(r.updateS * 1000),
          CCs: r.CCs,
          ASNs: r.ASNs,
          domains: r.domains,
          tags: r.tags,
          links: r.links,
          test_names: r.test_names,
          themes: r.themes,
          slug: r.slug,
        },
      ],
    });
  }

  /** Findings the viewer may see (published ones; their own and, for admins, all), filtered. */
  async search(q: SearchQuery, viewer: Viewer | null): Promise<IncidentRow[]> {
    if (q.only_mine && !viewer) return [];
    const rows = await queryRows<DbRow>(
      this.db,
      `SELECT ${COLUMNS} FROM incidents FINAL
       WHERE deleted = 0
         AND ({admin:UInt8} = 1 OR published = 1 OR (creator = {me:String} AND {me:String} != ''))
         AND ({cc:String} = '' OR has(CCs, toFixedString({cc:String}, 2)))
         AND (empty({ccs:Array(String)}) OR hasAny(arrayMap(x -> toString(x), CCs), {ccs:Array(String)}))
         AND (empty({themes:Array(String)}) OR hasAny(themes, {themes:Array(String)}))
         AND ({asn:Int64} < 0 OR has(ASNs, {asn:Int64}))
         AND ({domain:String} = '' OR has(domains, {domain:String}))
         AND ({creator:String} = '' OR creator = {creator:String})
         AND ({only_mine:UInt8} = 0 OR creator = {me:String})
         AND ({published:Int8} < 0 OR published = {published:Int8})
       ORDER BY ${ORDER_BY[q.sort_by]} ${q.order === "asc" ? "ASC" : "DESC"}, id`,
      {
        admin: viewer?.admin ? 1 : 0,
        me: viewer?.accountId ?? "",
        cc: q.cc?.toUpperCase() ?? "",
        ccs: q.country_code,
        themes: q.theme,
        asn: q.asn ?? -1,
        domain: q.domain ?? "",
        creator: q.creator ?? "",
        only_mine: q.only_mine ? 1 : 0,
        published: q.published === undefined ? -1 : q.published ? 1 : 0,
      },
    );
    return rows.map(fromDb);
  }

  /** A read-then-write on one finding with no other change of it in between (in this process). */
  editing<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.#edits.run(id, fn);
  }
}

const stores = new WeakMap<Database, IncidentStore>();

export function incidentStore(db: Database): IncidentStore {
  let s = stores.get(db);
  if (!s) stores.set(db, (s = new IncidentStore(db)));
  return s;
}
