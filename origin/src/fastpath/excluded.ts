import { own } from "./scoring/py";
import type { Dict } from "./scoring/py";

// Measurements the upstream fastpath gives no row, live or when reprocessing (its
// process_measurement returns before scoring): probe_cc "ZZ" (unknown country) and probe_asn
// "AS0" (unknown network), compared case-insensitively, and those without a report id. Our intake
// refuses ZZ / AS0 with a 400 and always records a report id (the envelope's, when the
// measurement has none: docs/spool.md), so only older spool files, archives and hand-fed files
// still hold such measurements; they are archived like any other, but never scored.

/**
 * Why upstream would drop this measurement, or null when it is scored. `reportId` is the one
 * decoding found (the measurement's own, else the envelope's or the archive index's).
 */
export function excludedFromFastpath(measurement: Dict, reportId: string | null): string | null {
  if (reportId === null && typeof own(measurement, "report_id") !== "string") return "no report_id";
  const cc = own(measurement, "probe_cc");
  if (typeof cc === "string" && cc.toUpperCase() === "ZZ") return "probe_cc ZZ (unknown country)";
  const asn = own(measurement, "probe_asn");
  if (typeof asn === "string" && asn.toUpperCase() === "AS0") return "probe_asn AS0 (unknown network)";
  return null;
}
