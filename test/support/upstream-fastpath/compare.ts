import { loadFingerprintDir } from "../../../origin/src/fastpath/fingerprints";
import type { FingerprintSet } from "../../../origin/src/fastpath/fingerprints";
import { scoreItem } from "../../../origin/src/fastpath/pipeline/score-item";
import type { FastpathRow } from "../../../origin/src/fastpath/row";
import type { Fixture } from "./fixtures";
import { runHarness, type UpstreamFastpath } from "./locate";

// Both fastpaths on the same bytes: the body upstream's fastpath receives from its API and our
// spool file hold the same {"format":"json","content":…} envelope, with the same measurement_uid.

export interface Item {
  id: string;
  uid: string;
  post: string;
  testName: string;
}

export interface UpstreamResult {
  id: string;
  rows: Record<string, unknown>[];
  openvpn: Record<string, unknown>[];
  errors: string[];
}

export interface Outcome {
  item: Item;
  upstream: UpstreamResult;
  ours: FastpathRow | { excluded: string } | { unreadable: string };
}

function pad(n: number, w = 2) {
  return String(n).padStart(w, "0");
}

/** A measurement_uid received `minutesAfter` the measurement started (or at a fixed date). */
export function uidFor(text: string, testName: string, at: "start" | Date): string {
  let t = at === "start" ? NaN : at.getTime();
  if (at === "start") {
    const m = /"measurement_start_time"\s*:\s*"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)"/.exec(text);
    t = m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) + 10 * 60_000 : Date.UTC(2024, 0, 1);
  }
  const d = new Date(t);
  const stamp = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
  return `${stamp}.000000_IT_${testName.replace(/_/g, "").slice(0, 20) || "x"}_0123456789abcdef`;
}

export function itemsFor(fixtures: Fixture[], fixedNow: Date): Item[] {
  const items: Item[] = [];
  for (const f of fixtures) {
    const post = `{"format":"json","content":${f.text}}`;
    items.push({ id: `${f.id} @start`, uid: uidFor(f.text, f.testName, "start"), post, testName: f.testName });
    items.push({ id: `${f.id} @now`, uid: uidFor(f.text, f.testName, fixedNow), post, testName: f.testName });
  }
  return items;
}

export async function fingerprintsFor(u: UpstreamFastpath): Promise<FingerprintSet> {
  return loadFingerprintDir(u.fingerprintsDir);
}

export function scoreBoth(u: UpstreamFastpath, items: Item[], fingerprints: FingerprintSet): Outcome[] {
  const input = items.map((i) => JSON.stringify({ id: i.id, uid: i.uid, post: i.post })).join("\n") + "\n";
  const lines = runHarness(u, ["score"], input).split("\n").filter((l) => l.trim() !== "");
  if (lines.length !== items.length) throw new Error(`harness answered ${lines.length} of ${items.length} items`);
  return items.map((item, k) => {
    const upstream = JSON.parse(lines[k]!) as UpstreamResult;
    if (upstream.id !== item.id) throw new Error(`harness out of order at ${item.id}`);
    const r = scoreItem({ kind: "post", uid: item.uid, data: Buffer.from(item.post, "utf8") }, fingerprints);
    const ours = r.ok ? r.row : r.excluded ? { excluded: r.error } : { unreadable: r.error };
    return { item, upstream, ours };
  });
}
