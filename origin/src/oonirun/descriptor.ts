import type { Session } from "../auth/tokens";
import { isoTime, parseTime } from "./write-api";
import type { Link, LinkInput, Nettest, NettestOut } from "./schemas";

// A link is stored as one row per revision (docs/write-apis.md). The metadata people read
// (names, descriptions, translations, icon, colour, expiry) is the latest row's; the nettests and
// `date_created` are those of the revision asked for. A change to the nettests makes a new
// revision (installed links must be re-approved); any other change replaces the latest row and
// counts as a translation revision, so probes are not asked to re-approve for a typo fix.

export const DEFAULT_EXPIRY_MS = 180 * 86_400_000;

export interface LinkMeta {
  name: string;
  name_intl: Record<string, string> | null;
  short_description: string;
  short_description_intl: Record<string, string> | null;
  description: string;
  description_intl: Record<string, string> | null;
  author: string;
  icon: string | null;
  color: string | null;
  expirationMs: number;
}

export interface LinkRow extends LinkMeta {
  id: string;
  revision: number;
  translationRevision: number;
  dateCreatedMs: number;
  dateUpdatedMs: number;
  creator: string;
  nettests: Nettest[];
}

/** The stored form of nettests: every field present, inputs as posted (null when absent). */
export function normalizeNettests(input: LinkInput["nettests"]): Nettest[] {
  return input.map((n) => ({
    test_name: n.test_name,
    inputs: n.inputs ?? null,
    inputs_extra: n.inputs_extra ?? null,
    targets_name: n.targets_name ?? null,
    options: n.options ?? {},
    is_background_run_enabled: n.is_background_run_enabled_default ?? n.is_background_run_enabled ?? true,
    is_manual_run_enabled: n.is_manual_run_enabled_default ?? n.is_manual_run_enabled ?? true,
  }));
}

/**
 * Nettests as answered: as posted, the flags under upstream's names (what clients read). Rows stored
 * before inputs were kept as posted have [] for a dynamic list; it is answered as null, so that a
 * link PUT back exactly as read is still valid (inputs together with targets_name is refused).
 */
export function answerNettests(nettests: Nettest[]): NettestOut[] {
  return nettests.map((n) => ({
    test_name: n.test_name,
    inputs: n.targets_name !== null && n.inputs !== null && n.inputs.length === 0 ? null : n.inputs,
    inputs_extra: n.inputs_extra,
    targets_name: n.targets_name,
    options: n.options,
    is_background_run_enabled_default: n.is_background_run_enabled,
    is_manual_run_enabled_default: n.is_manual_run_enabled,
  }));
}

/** `keepExpiryMs`: on an edit without expiration_date, the link keeps its expiry. */
export function metaOf(input: LinkInput, nowMs: number, keepExpiryMs?: number): LinkMeta {
  return {
    name: input.name,
    name_intl: input.name_intl ?? null,
    short_description: input.short_description,
    short_description_intl: input.short_description_intl ?? null,
    description: input.description,
    description_intl: input.description_intl ?? null,
    author: input.author,
    icon: input.icon ?? null,
    color: input.color ?? null,
    expirationMs: input.expiration_date ? parseTime(input.expiration_date) : (keepExpiryMs ?? nowMs + DEFAULT_EXPIRY_MS),
  };
}

/** JSON with object keys sorted, so two equal descriptors compare equal whatever their key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

export function nettestsChanged(a: Nettest[], b: Nettest[]): boolean {
  return canonicalJson(a) !== canonicalJson(b);
}

const META_KEYS = [
  "name", "name_intl", "short_description", "short_description_intl", "description", "description_intl",
  "author", "icon", "color", "expirationMs",
] as const satisfies readonly (keyof LinkMeta)[];

export function metaChanged(a: LinkMeta, b: LinkMeta): boolean {
  return META_KEYS.some((k) => canonicalJson(a[k]) !== canonicalJson(b[k]));
}

export type Edit =
  | { kind: "unchanged" }
  | { kind: "translation"; row: LinkRow }
  | { kind: "revision"; row: LinkRow };

/** What an edit writes, given the latest stored row. */
export function planEdit(latest: LinkRow, meta: LinkMeta, nettests: Nettest[], nowMs: number): Edit {
  if (nettestsChanged(latest.nettests, nettests)) {
    return {
      kind: "revision",
      row: { ...latest, ...meta, nettests, revision: latest.revision + 1, dateCreatedMs: nowMs, dateUpdatedMs: nowMs },
    };
  }
  if (metaChanged(latest, meta)) {
    return {
      kind: "translation",
      row: { ...latest, ...meta, translationRevision: latest.translationRevision + 1, dateUpdatedMs: nowMs },
    };
  }
  return { kind: "unchanged" };
}

/** The answer for one revision: metadata from `latest`, nettests and date_created from `rev`. */
export function toLink(latest: LinkRow, rev: LinkRow, viewer: Session | null, nowMs = Date.now()): Link {
  return {
    oonirun_link_id: latest.id,
    name: latest.name,
    name_intl: latest.name_intl,
    short_description: latest.short_description,
    short_description_intl: latest.short_description_intl,
    description: latest.description,
    description_intl: latest.description_intl,
    author: latest.author,
    icon: latest.icon,
    color: latest.color,
    expiration_date: isoTime(latest.expirationMs),
    nettests: answerNettests(rev.nettests),
    revision: String(rev.revision),
    date_created: isoTime(rev.dateCreatedMs),
    date_updated: isoTime(latest.dateUpdatedMs),
    is_mine: viewer !== null && viewer.accountId === latest.creator,
    is_expired: latest.expirationMs <= nowMs,
  };
}
