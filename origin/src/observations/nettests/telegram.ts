import type { MeasurementObservations } from "../rows";
import type { Dict } from "../values";
import type { TransformOptions } from "./context";
import { messengerObservations } from "./messenger";

// telegram → obs_web: its DNS, TCP, TLS and HTTP parts paired into rows, each row tagged with the
// Telegram target it belongs to (messenger.ts, targets.ts).

export function telegramObservations(msm: Dict, opts: TransformOptions): MeasurementObservations {
  return messengerObservations("telegram", msm, opts);
}
