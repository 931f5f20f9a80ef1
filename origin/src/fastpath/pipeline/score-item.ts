import { excludedFromFastpath } from "../excluded";
import type { FingerprintSet } from "../fingerprints";
import { buildFastpathRow, type FastpathRow } from "../row";
import { scoreMeasurement } from "../score";
import { observe, type MeasurementObservations } from "../../observations";
import { decodeArchivedLine, decodePost, UnreadableMeasurement } from "./decode";

// What a scoring thread does with one unit of work, as a pure function so that the worker, the
// in-thread fallback (ensureScored without a running pipeline) and the tests share it.

/**
 * A spool file (`uid` is its name) or one line of an archived JSONL file, with the uid and
 * report id the archive index (jsonl table) records for it, when it does.
 */
export type ScoreItem =
  | { kind: "post"; uid: string; data: Uint8Array }
  | { kind: "line"; data: string; uid?: string; reportId?: string };

/**
 * `retryable`: the measurement was not judged (pool closed, thread died): try again later rather
 * than counting it as unreadable. `excluded`: a readable measurement that gets no row by rule
 * (ZZ / AS0 / no report id, as upstream; see ../excluded.ts) — like an unreadable one it is never scored, but it
 * is counted and logged apart.
 */
/**
 * `observations`: the measurement's obs_web / obs_web_ctrl rows, for the tests that have them
 * (docs/observations.md); written in the same batch as the fastpath row.
 */
export type ItemResult =
  | { ok: true; row: FastpathRow; observations?: MeasurementObservations }
  | { ok: false; error: string; retryable?: boolean; excluded?: boolean };

/**
 * `observations: false` (bench/fastpath's scoring-only path, the work OONI's fastpath.core does)
 * leaves out the observation rows; production always builds them from the same parse.
 */
export interface ScoreItemOptions {
  observations?: boolean;
}

export function scoreItem(item: ScoreItem, fingerprints: FingerprintSet, options: ScoreItemOptions = {}): ItemResult {
  const withObservations = options.observations ?? true;
  try {
    let measurement, reportId, isVerified: "t" | "f" | "u" | undefined, uid: string;
    if (item.kind === "post") {
      ({ measurement, reportId, isVerified } = decodePost(item.data));
      uid = item.uid;
    } else {
      const d = decodeArchivedLine(item.data, { uid: item.uid, reportId: item.reportId });
      ({ measurement, reportId } = d);
      uid = d.measurementUid;
    }
    const excluded = excludedFromFastpath(measurement, reportId ?? null);
    if (excluded !== null) return { ok: false, error: `not scored: ${excluded}`, excluded: true };
    const result = scoreMeasurement(measurement, { fingerprints, measurementUid: uid });
    const row = buildFastpathRow(measurement, result, { measurementUid: uid, reportId: reportId ?? undefined, isVerified });
    // A measurement the observation rules cannot take apart still gets its fastpath row (upstream
    // skips it in the observation tables too).
    if (!withObservations) return { ok: true, row };
    const obs = observe(measurement, uid);
    return obs.kind === "ok" ? { ok: true, row, observations: obs.observations } : { ok: true, row };
  } catch (err) {
    // scoreMeasurement and buildFastpathRow do not throw by design; decoding does, by design.
    if (err instanceof UnreadableMeasurement) return { ok: false, error: err.message };
    return { ok: false, error: `unexpected: ${err instanceof Error ? err.message : String(err)}` };
  }
}
