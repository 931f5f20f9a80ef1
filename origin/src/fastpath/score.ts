import type { FingerprintSet } from "./fingerprints";
import { unwrapEnvelope } from "./normalize";
import { failedScores, SCORERS } from "./scoring";
import type { Scores } from "./scoring";
import { flagWrongDates } from "./scoring/date-rules";
import { has, isDict, own } from "./scoring/py";

// The fastpath's scoring entry point: one pure scorer per test name, then the date rules, then
// the flags stored with every fastpath row. It never throws: a measurement it cannot read is
// scored as failed (accuracy 0).

export interface ScoreContext {
  readonly fingerprints: FingerprintSet;
  /** The measurement_uid given at reception; its timestamp drives the date rules. */
  readonly measurementUid?: string;
  /** Reception time to use when there is no usable measurement_uid. */
  readonly now?: Date;
}

export interface ScoreResult {
  scores: Record<string, unknown>;
  anomaly: boolean;
  confirmed: boolean;
  failure: boolean;
  blocking_type: string;
}

/** anomaly / failure / confirmed / blocking_type as derived from a scores object. */
export function scoreFlags(scores: Scores): Omit<ScoreResult, "scores"> {
  const general = has(scores, "blocking_general") ? scores.blocking_general : 0.0;
  const accuracy = has(scores, "accuracy") ? scores.accuracy : 1.0;
  const analysis = own(scores, "analysis");
  const blockingType = isDict(analysis) ? own(analysis, "blocking_type") : undefined;
  return {
    anomaly: typeof general === "number" && general > 0.5,
    failure: typeof accuracy === "number" && accuracy < 0.5,
    confirmed: own(scores, "confirmed") === true,
    blocking_type: typeof blockingType === "string" ? blockingType : "",
  };
}

function runScorer(msm: Dict, ctx: ScoreContext): Scores {
  const name = own(msm, "test_name");
  const scorer = typeof name === "string" ? SCORERS.get(name) : undefined;
  if (!scorer) return failedScores();
  // Upstream reads test_keys with a default of {} (missing or null alike) and scores that: e.g.
  // ndt gives {}, browser_web and openvpn keep their `extra`. Anything else that is not an
  // object made upstream's scorer raise (no row at all); we store it as failed instead.
  const raw = own(msm, "test_keys");
  const tk = raw === undefined || raw === null ? {} : raw;
  if (!isDict(tk)) return failedScores();
  try {
    return scorer({ msm, tk, fingerprints: ctx.fingerprints });
  } catch (err) {
    // Scorers are written not to throw; this keeps a bug from losing the row.
    const scores = failedScores();
    scores.msg = `Scoring error: ${err instanceof Error ? err.message : String(err)}`;
    return scores;
  }
}

type Dict = Record<string, unknown>;

export function scoreMeasurement(msm: unknown, ctx: ScoreContext): ScoreResult {
  const measurement = unwrapEnvelope(msm);
  let scores: Scores;
  if (!isDict(measurement)) {
    scores = failedScores();
  } else {
    scores = runScorer(measurement, ctx);
    const ownUid = own(measurement, "measurement_uid");
    const uid = ctx.measurementUid ?? (typeof ownUid === "string" ? ownUid : undefined);
    flagWrongDates(measurement, uid, ctx.now, scores);
  }
  return { scores, ...scoreFlags(scores) };
}
