import { z } from "zod";
import { parsePostFile } from "../../intake/post-file";
import { trivialId, unwrapEnvelope } from "../normalize";
import { has, isDict, own } from "../scoring/py";
import type { Dict } from "../scoring/py";

// Stored bytes → the measurement to score. Two sources: spool `.post` files (docs/spool.md) and the
// lines of archived JSONL files. Anything that is not readable as a measurement throws an
// UnreadableMeasurement, which the pipeline logs, counts and skips (the file itself stays in the
// spool and is archived like any other).

export class UnreadableMeasurement extends Error {
  override readonly name = "UnreadableMeasurement";
}

export interface Decoded {
  measurement: Dict;
  /** content.report_id, else the envelope's (the rule every spool reader uses). */
  reportId: string | null;
  /** The anonymous-credential verdict recorded in a spool envelope; archived lines carry none ("u"). */
  isVerified?: "t" | "f" | "u";
}

const utf8 = new TextDecoder("utf-8");

function reason(err: unknown): string {
  if (err instanceof z.ZodError) {
    const issue = err.issues[0];
    return `not a measurement envelope (${issue ? `${issue.path.join(".") || "body"}: ${issue.message}` : "invalid"})`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** A legacy `{format: "yaml", content: "<yaml>"}` envelope, which parsePostFile does not read. */
function decodeYamlEnvelope(bytes: Uint8Array): Decoded | null {
  let envelope: unknown;
  try {
    envelope = JSON.parse(utf8.decode(bytes));
  } catch {
    return null;
  }
  if (!isDict(envelope) || typeof own(envelope, "format") !== "string") return null;
  if ((own(envelope, "format") as string).toLowerCase() !== "yaml") return null;
  const measurement = unwrapEnvelope(envelope, true);
  if (!isDict(measurement)) throw new UnreadableMeasurement("yaml content is not a measurement object");
  return { measurement, reportId: reportIdOf(measurement, envelope) };
}

function reportIdOf(measurement: Dict, envelope: Dict | null): string | null {
  const inner = own(measurement, "report_id");
  if (typeof inner === "string" && inner !== "") return inner;
  const outer = envelope ? own(envelope, "report_id") : undefined;
  return typeof outer === "string" && outer !== "" ? outer : null;
}

/** A spool `.post` file. Throws UnreadableMeasurement. */
export function decodePost(bytes: Uint8Array): Decoded {
  try {
    const { reportId, measurement, isVerified } = parsePostFile(bytes);
    return { measurement, reportId, isVerified };
  } catch (err) {
    let yaml: Decoded | null;
    try {
      yaml = decodeYamlEnvelope(bytes);
    } catch (yamlErr) {
      throw new UnreadableMeasurement(reason(yamlErr));
    }
    if (yaml) return yaml;
    throw new UnreadableMeasurement(reason(err));
  }
}

export interface DecodedLine extends Decoded {
  measurementUid: string;
}

/**
 * One line of an archived JSONL file: the measurement as the probe sent it (our uploader), the
 * measurement with a measurement_uid added (upstream's), or a `{format, content}` envelope.
 * `known` is what the archive index (jsonl table) says about this line: its uid and report id win,
 * so a re-scored row replaces the live one. Without any uid the id is upstream's trivial id of the
 * line, as the upstream fastpath did for old archives.
 */
export function decodeArchivedLine(line: string, known: { uid?: string; reportId?: string } = {}): DecodedLine {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    throw new UnreadableMeasurement(`invalid JSON: ${(err as Error).message}`);
  }
  if (!isDict(parsed)) throw new UnreadableMeasurement("line is not a JSON object");
  let measurement: unknown = parsed;
  let envelope: Dict | null = null;
  if (has(parsed, "content") && has(parsed, "format")) {
    envelope = parsed;
    try {
      measurement = unwrapEnvelope(parsed, true);
    } catch (err) {
      throw new UnreadableMeasurement(reason(err));
    }
  }
  if (!isDict(measurement)) throw new UnreadableMeasurement("content is not a measurement object");
  const ownUid = own(measurement, "measurement_uid") ?? (envelope ? own(envelope, "measurement_uid") : undefined);
  const measurementUid = known.uid
    ? known.uid
    : typeof ownUid === "string" && ownUid !== ""
      ? ownUid
      : trivialId(Buffer.from(line, "utf8"), measurement);
  const reportId = reportIdOf(measurement, envelope) ?? (known.reportId ? known.reportId : null);
  return { measurement, reportId, measurementUid };
}
