import { own } from "./scoring/py";
import type { Dict } from "./scoring/py";

// Measurements the upstream fastpath gives no row, live or when reprocessing (its
// process_measurement returns before scoring): probe_cc "ZZ" (unknown country) and probe_asn
// "AS0" (unknown network), compared case-insensitively. Our intake already refuses them with a
// 400, so only older spool files, archives and hand-fed files still hold such measurements; they
// are archived like any other, but never scored.

/** Why upstream would drop this measurement, or null when it is scored. */
export function excludedFromFastpath(measurement: Dict): string | null {
  const cc = own(measurement, "probe_cc");
  if (typeof cc === "string" && cc.toUpperCase() === "ZZ") return "probe_cc ZZ (unknown country)";
  const asn = own(measurement, "probe_asn");
  if (typeof asn === "string" && asn.toUpperCase() === "AS0") return "probe_asn AS0 (unknown network)";
  return null;
}
