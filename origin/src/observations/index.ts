import type { MeasurementObservations } from "./rows";
import { str, type Dict } from "./values";
import { TRANSFORMATIONS } from "./nettests";

// Measurements → observation rows (OONI Pipeline v5's first stage), for the tests upstream has
// observations for (nettests/index.ts). Runs in the fastpath's scoring threads beside the scorer
// (docs/observations.md).

export type { MeasurementObservations, WebObservationRow, WebControlObservationRow, HttpMiddleboxRow } from "./rows";
export { OBS_WEB_COLUMNS, OBS_WEB_CTRL_COLUMNS, OBS_HTTP_MIDDLEBOX_COLUMNS, CREATE_OBS_WEB, CREATE_OBS_WEB_CTRL } from "./columns";

export const OBSERVED_TESTS: ReadonlySet<string> = new Set(TRANSFORMATIONS.keys());

/** The receipt day, from the uid's leading timestamp (YYYYMMDDhhmmss…). */
export function bucketDateOf(uid: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})/.exec(uid);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : new Date().toISOString().slice(0, 10);
}

export type ObservationResult =
  | { kind: "none" }
  | { kind: "ok"; observations: MeasurementObservations }
  | { kind: "failed"; error: string };

/** Never throws: a measurement the transformation cannot take apart is "failed" (and gets no rows). */
export function observe(msm: Dict, measurementUid: string, now?: Date): ObservationResult {
  const transform = TRANSFORMATIONS.get(str(msm.test_name) ?? "");
  if (!transform) return { kind: "none" };
  try {
    return { kind: "ok", observations: transform(msm, { measurementUid, bucketDate: bucketDateOf(measurementUid), now }) };
  } catch (err) {
    return { kind: "failed", error: err instanceof Error ? err.message : String(err) };
  }
}
