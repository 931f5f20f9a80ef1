import type { Scores } from "./common";
import { own } from "./py";
import type { Dict } from "./py";
import { parsePyDateTime, parseUidTime } from "./py-datetime";

const HOUR_S = 3600;
const YEAR_S = 31_536_000;

/**
 * Measurements whose start time is more than an hour after their reception, or more than a
 * year before it, are scored as failed with upstream's message. Reception time comes from the
 * measurement_uid (or `now` when there is no usable uid); without either nothing is flagged.
 */
export function flagWrongDates(msm: Dict, uid: string | undefined, now: Date | undefined, scores: Scores): void {
  let received = uid === undefined ? null : parseUidTime(uid);
  if (received === null && now !== undefined && Number.isFinite(now.getTime())) received = now.getTime();
  if (received === null) return;
  const start = parsePyDateTime(own(msm, "measurement_start_time") ?? "");
  if (start === null) return;
  const delta = (received - start) / 1000;
  if (delta < -HOUR_S) {
    scores.accuracy = 0.0;
    scores.msg = "Measurement start time from the future";
  } else if (delta > YEAR_S) {
    scores.accuracy = 0.0;
    scores.msg = "Measurement start time too old";
  }
}
