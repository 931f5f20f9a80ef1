import { z } from "zod";
import { IntakeError } from "./errors";

// The collector rules of the OONI spec (bk-003) for the fields that name a measurement's network and
// software. Error codes follow the newer OONI probe service: `asn_invalid` for a malformed
// probe_asn, `bad_metadata` for everything else, so a client sees which rule it broke.

const NAME = /^[0-9A-Za-z_.+-]{1,100}$/;

const MetadataSchema = z.looseObject({
  probe_asn: z.string().regex(/^AS[0-9]{1,10}$/, { error: 'must look like "AS1234"' }),
  probe_cc: z.string().regex(/^[A-Z]{2}$/, { error: "must be two upper-case letters" }),
  test_name: z.string().regex(NAME, { error: "must match [0-9A-Za-z_.+-]+" }),
  software_name: z.string().regex(NAME, { error: "must match [0-9A-Za-z_.+-]+" }),
  software_version: z.string().regex(NAME, { error: "must match [0-9A-Za-z_.+-]+" }),
  report_id: z.string().max(200).nullish(),
  // Read only to name a derived report id (report-id.ts); any other value is ignored, not refused.
  test_start_time: z.unknown().optional(),
});

export interface MeasurementMetadata {
  probeCc: string;
  probeAsn: number;
  /** probe_asn exactly as the measurement has it (an anonymous-credential proof is bound to this text). */
  probeAsnText: string;
  testName: string;
  /** Test name without underscores, as in report ids, spool directories and uids. */
  testNameCompact: string;
  softwareName: string;
  softwareVersion: string;
  reportId: string | null;
  /** test_start_time when it is a string ("YYYY-MM-DD hh:mm:ss" in real measurements). */
  testStartTime: string | null;
}

export function measurementMetadata(content: unknown): MeasurementMetadata {
  if (typeof content !== "object" || content === null || Array.isArray(content)) {
    throw new IntakeError(400, "Incorrect format", { message: "content must be a JSON object (the measurement)" });
  }
  const parsed = MetadataSchema.safeParse(content);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = String(issue.path[0] ?? "content");
    const message = `content.${field}: ${issue.code === "invalid_type" ? "missing or not a string" : issue.message}`;
    throw new IntakeError(400, field === "probe_asn" ? "asn_invalid" : "bad_metadata", { message });
  }
  const m = parsed.data;
  const asn = Number(m.probe_asn.slice(2));
  if (asn > 0xffffffff) throw new IntakeError(400, "asn_invalid", { message: "content.probe_asn is out of range" });
  return {
    probeCc: m.probe_cc,
    probeAsn: asn,
    probeAsnText: m.probe_asn,
    testName: m.test_name,
    testNameCompact: m.test_name.replace(/_/g, ""),
    softwareName: m.software_name,
    softwareVersion: m.software_version,
    reportId: m.report_id ?? null,
    testStartTime: typeof m.test_start_time === "string" ? m.test_start_time : null,
  };
}
