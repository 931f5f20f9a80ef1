import { z } from "zod";

// The submission policy published in the manifest: which probes (cc/asn, first match wins, the last
// entry a catch-all) must show a credential of which age range (emission days, as the protocol
// counts them: days since the Julian epoch) and at least how many earlier measurements.

const u32 = z.number().int().min(0).max(0xffffffff);
export const PolicyEntry = z.object({
  policy: z.object({ age: z.tuple([u32, u32]), min_measurement_count: u32 }),
  match: z.object({ probe_cc: z.string().regex(/^(\*|[A-Z]{2})$/), probe_asn: z.string().regex(/^(\*|AS[0-9]{1,10})$/) }),
});
export type PolicyEntry = z.infer<typeof PolicyEntry>;

/** What the manifest publishes beside the keys (PROBE_CONFIG_DIR/manifest.json). */
export interface SubmissionPolicy {
  nym_scope: string;
  submission_policy: PolicyEntry[];
}

/** First matching entry wins; the last entry is a catch-all (checked when the file is read). */
export function rangesFor(policy: PolicyEntry[], cc: string, asn: string): { age: [number, number]; minCount: number } | null {
  for (const e of policy) {
    if ((e.match.probe_cc === "*" || e.match.probe_cc === cc) && (e.match.probe_asn === "*" || e.match.probe_asn === asn)) {
      return { age: e.policy.age, minCount: e.policy.min_measurement_count };
    }
  }
  return null;
}

