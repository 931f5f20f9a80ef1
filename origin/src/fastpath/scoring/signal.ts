import { initScores } from "./common";
import type { ScorerInput, Scores } from "./common";
import { compareVersions, parseVersion } from "./pep440";
import type { Version } from "./pep440";
import { parsePyDateTime } from "./py-datetime";
import { get, getOr, has, isDict, truthy } from "./py";

// signal: blocked when the Signal backend is; several probe releases produced unreliable
// results after given dates, those measurements are scored as failed.

const V_0_2_2 = parseVersion("0.2.2")!;
const V_0_2_3 = parseVersion("0.2.3")!;
const V_3_17_2 = parseVersion("3.17.2")!;
const NOV_7_2023 = Date.UTC(2023, 10, 7);
const OCT_19_2022 = Date.UTC(2022, 9, 19);
const MAY_2_2023 = Date.UTC(2023, 4, 2);

/** Whether the probe release is known to be unreliable for this test; null when unknowable. */
function knownBroken(msm: Record<string, unknown>): boolean | null {
  const tv = getOr(msm, "test_version", "0.0.0");
  const start = get(msm, "measurement_start_time");
  if (start === null) return true;
  const startMs = parsePyDateTime(start);
  if (startMs === null) return null;
  // v0.2.4 only (ooni/probe#2636).
  if (tv === "0.2.4") return true;
  const version: Version | null = parseVersion(tv);
  if (!version) return null;
  // ooni/probe#2627
  if (compareVersions(version, V_0_2_3) <= 0 && startMs >= NOV_7_2023) return true;
  if (compareVersions(version, V_0_2_2) < 0 && startMs >= OCT_19_2022) return true;
  // ooni/backend#679: engine_version < 3.17.2 after 2023-05-02.
  const annotations = getOr(msm, "annotations", {});
  if (!isDict(annotations)) return null;
  const engine = parseVersion(getOr(annotations, "engine_version", "0.0.0"));
  if (!engine) return null;
  return compareVersions(engine, V_3_17_2) < 0 && startMs >= MAY_2_2023;
}

export function scoreSignal({ msm, tk }: ScorerInput): Scores {
  const scores = initScores();
  const failedOperation = has(tk, "failed_operation") ? tk.failed_operation : true;
  const failure = has(tk, "failure") ? tk.failure : true;
  if (truthy(failedOperation) || truthy(failure)) scores.accuracy = 0.0;

  // Any error while checking the release counts as broken, as upstream's except clause does.
  if (knownBroken(msm) !== false) {
    scores.accuracy = 0.0;
    return scores;
  }

  const status = get(tk, "signal_backend_status");
  if (status === "ok") {
    // reachable
  } else if (status === "blocked") {
    scores.blocking_general = 1.0;
    scores.analysis = { signal_backend_failure: get(tk, "signal_backend_failure") };
  } else {
    scores.accuracy = 0.0;
  }
  return scores;
}
