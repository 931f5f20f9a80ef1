import { queryRows, type Database } from "../db/clickhouse";
import { dbTime, KeyedMutex } from "./write-api";
import type { LinkRow } from "./descriptor";
import type { Nettest } from "./schemas";

// OONI Run links in ClickHouse: table `oonirun`, ReplacingMergeTree(update_time) ordered by
// (oonirun_link_id, revision). Every read uses FINAL, so the newest version of each
// (link, revision) row is what is read even before a background merge — the write is visible to
// the next read on any origin sharing the database (docs/write-apis.md).

const COLUMNS = `
  toString(oonirun_link_id) AS id, revision, translation_revision,
  toUnixTimestamp64Milli(date_created) AS date_created_ms, toUnixTimestamp64Milli(date_updated) AS date_updated_ms,
  toString(creator_account_id) AS creator, toUnixTimestamp64Milli(expiration_date) AS expiration_ms,
  name, name_intl, short_description, short_description_intl, description, description_intl,
  author, icon, color, nettests`;

interface DbRow {
  id: string;
  revision: number;
  translation_revision: number;
  date_created_ms: number;
  date_updated_ms: number;
  creator: string;
  expiration_ms: number;
  name: string;
  name_intl: string;
  short_description: string;
  short_description_intl: string;
  description: string;
  description_intl: string;
  author: string;
  icon: string;
  color: string;
  nettests: string;
}

const MAX_UINT64 = (1n << 64n) - 1n;

/** The id as ClickHouse can take it, or null for one that cannot exist (beyond UInt64). */
export function storableId(id: string): string | null {
  return BigInt(id) <= MAX_UINT64 ? BigInt(id).toString() : null;
}

function parseIntl(s: string): Record<string, string> | null {
  return s === "" ? null : (JSON.parse(s) as Record<string, string> | null);
}

// The icon column is a plain String, yet an absent icon (null, as upstream answers it) and an empty
// one ("", which the OONI Run app sends and whose edit form refuses null) must both come back as
// sent. "" in the column is null (every row written before this distinction); an empty icon is
// stored as one NUL, which no icon can contain (schemas.ts refuses control characters).
const EMPTY_ICON = "\u0000";
const iconFromDb = (v: string) => (v === "" ? null : v === EMPTY_ICON ? "" : v);
const iconToDb = (v: string | null) => (v === null ? "" : v === "" ? EMPTY_ICON : v);

function fromDb(r: DbRow): LinkRow {
  return {
    id: r.id,
    revision: Number(r.revision),
    translationRevision: Number(r.translation_revision),
    dateCreatedMs: Number(r.date_created_ms),
    dateUpdatedMs: Number(r.date_updated_ms),
    creator: r.creator,
    expirationMs: Number(r.expiration_ms),
    name: r.name,
    name_intl: parseIntl(r.name_intl),
    short_description: r.short_description,
    short_description_intl: parseIntl(r.short_description_intl),
    description: r.description,
    description_intl: parseIntl(r.description_intl),
    author: r.author,
    icon: iconFromDb(r.icon),
    color: r.color === "" ? null : r.color,
    nettests: JSON.parse(r.nettests) as Nettest[],
  };
}

function toDb(r: LinkRow) {
  return {
    oonirun_link_id: r.id,
    revision: r.revision,
    translation_revision: r.translationRevision,
    date_created: dbTime(r.dateCreatedMs),
    date_updated: dbTime(r.dateUpdatedMs),
    creator_account_id: r.creator,
    expiration_date: dbTime(r.expirationMs),
    name: r.name,
    name_intl: r.name_intl === null ? "" : JSON.stringify(r.name_intl),
    short_description: r.short_description,
    short_description_intl: r.short_description_intl === null ? "" : JSON.stringify(r.short_description_intl),
    description: r.description,
    description_intl: r.description_intl === null ? "" : JSON.stringify(r.description_intl),
    author: r.author,
    icon: iconToDb(r.icon),
    color: r.color ?? "",
    nettests: JSON.stringify(r.nettests),
  };
}

export interface ListOptions {
  /** Only links created by this account (null: none at all — an anonymous "mine"). */
  mine?: string | null;
  includeExpired: boolean;
  nowMs: number;
}

export class OonirunStore {
  readonly #edits = new KeyedMutex();

  constructor(private readonly db: Database) {}

  async insert(row: LinkRow): Promise<void> {
    await this.db.client.insert({ table: "oonirun", values: [toDb(row)], format: "JSONEachRow" });
  }

  /** Whether any row has this id (a fresh random id practically never collides; we check anyway). */
  async exists(id: string): Promise<boolean> {
    const [r] = await queryRows<{ n: number }>(this.db, "SELECT count() AS n FROM oonirun WHERE oonirun_link_id = {id:UInt64}", { id });
    return Number(r?.n ?? 0) > 0;
  }

  async latest(id: string): Promise<LinkRow | null> {
    const rows = await queryRows<DbRow>(
      this.db,
      `SELECT ${COLUMNS} FROM oonirun FINAL WHERE oonirun_link_id = {id:UInt64} ORDER BY revision DESC LIMIT 1`,
      { id },
    );
    return rows[0] ? fromDb(rows[0]) : null;
  }

  async revision(id: string, revision: number): Promise<LinkRow | null> {
    const rows = await queryRows<DbRow>(
      this.db,
      `SELECT ${COLUMNS} FROM oonirun FINAL WHERE oonirun_link_id = {id:UInt64} AND revision = {rev:UInt32} LIMIT 1`,
      { id, rev: revision },
    );
    return rows[0] ? fromDb(rows[0]) : null;
  }

  /** Newest first. */
  async revisions(id: string): Promise<number[]> {
    const rows = await queryRows<{ revision: number }>(
      this.db,
      "SELECT DISTINCT revision FROM oonirun WHERE oonirun_link_id = {id:UInt64} ORDER BY revision DESC",
      { id },
    );
    return rows.map((r) => Number(r.revision));
  }

  /** The latest row of every link that passes the filters, most recently changed first. */
  async listLatest(o: ListOptions): Promise<LinkRow[]> {
    if (o.mine === null) return [];
    const rows = await queryRows<DbRow>(
      this.db,
      `SELECT * FROM (
         SELECT ${COLUMNS} FROM oonirun FINAL
         ORDER BY oonirun_link_id, revision DESC
         LIMIT 1 BY oonirun_link_id
       )
       WHERE ({mine_only:UInt8} = 0 OR creator = {mine:String})
         AND ({include_expired:UInt8} = 1 OR expiration_ms > {now_ms:Int64})
       ORDER BY date_updated_ms DESC, id`,
      { mine_only: o.mine === undefined ? 0 : 1, mine: o.mine ?? "", include_expired: o.includeExpired ? 1 : 0, now_ms: o.nowMs },
    );
    return rows.map(fromDb);
  }

  /** Every revision row of these links (for listings that show each revision). */
  async allRevisions(ids: string[]): Promise<LinkRow[]> {
    if (ids.length === 0) return [];
    const rows = await queryRows<DbRow>(
      this.db,
      `SELECT ${COLUMNS} FROM oonirun FINAL WHERE toString(oonirun_link_id) IN {ids:Array(String)} ORDER BY oonirun_link_id, revision DESC`,
      { ids },
    );
    return rows.map(fromDb);
  }

  /**
   * Runs a read-then-write on one link with no other edit of that link in between (in this
   * process): the next revision number is computed from the latest row read inside.
   */
  editing<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.#edits.run(id, fn);
  }
}

const stores = new WeakMap<Database, OonirunStore>();

/** One store per database handle, so the edit lock is shared by every request of this process. */
export function oonirunStore(db: Database): OonirunStore {
  let s = stores.get(db);
  if (!s) stores.set(db, (s = new OonirunStore(db)));
  return s;
}
