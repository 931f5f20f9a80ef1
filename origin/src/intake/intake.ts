import { z } from "zod";
import { decodeContent, readBodyBounded } from "./body";
import { IntakeError, inconsistent, incorrectFormat } from "./errors";
import { DedupIndex } from "./dedup-index";
import { bodyHash16, formatMeasurementUid, parseMeasurementUid, receptionMicros } from "./measurement-uid";
import { measurementMetadata, type MeasurementMetadata } from "./metadata";
import { shedOnMemory } from "./overload";
import type { Digest, DigestRefusal } from "./parse/digest";
import { ParsePool, ParseTooCostly } from "./parse/pool";
import { envelopeAroundMeasurementText, withReportIdInserted } from "./post-file";
import { derivedReportId, generateReportId, parseReportId, rejectUnknownNetwork } from "./report-id";
import type { Spool } from "./spool";
import { isNoSpaceError, SpoolFullError, type SpoolSpace } from "./spool-space";
import type { SubmissionCredentials, Verification } from "../anoncred/service";

/**
 * Checks a submission's anonymous credential (anoncred/). Never throws and never refuses: its
 * answer is only recorded with the measurement (is_verified) and returned to the probe.
 */
export type VerifySubmission = (fields: SubmissionCredentials, contentText: string | null, cc: string, asn: string) => Promise<Verification>;

// Measurement intake: read (bounded) → decode → validate → choose the stored bytes → uid → durable
// spool write. Every refusal is an IntakeError (4xx JSON); an accepted measurement is on disk and
// fsynced before the caller answers 200. Bytes already in the spool (a probe retrying after a lost
// 200) are answered with the existing uid instead of being stored twice (dedup-index.ts).

export interface IntakeOptions {
  spool: Spool;
  collectorId: string;
  maxBytes: number;
  /** Benchmark-only (INTAKE_DISCARD): validate and answer, but store nothing. */
  discard: boolean;
  /** Free-space reserve of the spool's filesystem; absent = no check before writing. */
  space?: SpoolSpace;
  /** Reception time in µs for the uid; tests inject it (e.g. to cross an hour boundary). */
  clock?: () => bigint;
  /** Anonymous-credential verification for POST /api/v1/submit_measurement; absent: none. */
  verify?: VerifySubmission;
  /** Where bodies are parsed (parse/pool.ts); a default pool when absent. */
  parser?: ParsePool;
  /** Refuse new submissions (503) while the process is resident above this many bytes; 0 = off. */
  shedRssBytes?: number;
}

export interface Accepted {
  measurementUid: string;
  reportId: string;
  hourDir: string;
  /** The exact bytes written to the spool (or found there). */
  stored: Buffer;
  /** The bytes were already in the spool: nothing was written, measurementUid is the existing one. */
  duplicate: boolean;
  /** POST /api/v1/submit_measurement only: the credential check (status stored as is_verified). */
  verification?: Verification;
}

const ReportEnvelope = z.looseObject({
  format: z.string().optional(),
  report_id: z.string().optional(),
  content: z.union([z.string(), z.record(z.string(), z.unknown())]),
});

// The anonymous-credential fields (nym, zkp_request, manifest_version, protocol_version) stay in the
// loose object and are read by the verifier, whatever their type: a malformed one makes the
// measurement unverified, never refused.
const SubmitEnvelope = z.looseObject({
  format: z.string().optional(),
  content: z.union([z.string(), z.record(z.string(), z.unknown())]),
});

function envelopeIssue(err: z.ZodError): IntakeError {
  const issue = err.issues[0]!;
  const field = issue.path.map(String).join(".") || "body";
  return incorrectFormat(`${field}: ${issue.code === "invalid_type" ? "missing or of the wrong type" : issue.message}`);
}

function checkFormat(format: string | undefined) {
  if (format !== undefined && format.toLowerCase() !== "json") throw incorrectFormat('only format "json" is supported');
}

/**
 * The body's digest (parse/digest.ts) or its refusal. The envelope is checked by the same schemas
 * as before, on a stand-in for `content` (its kind is all they look at).
 */
function envelopeOf<T extends z.ZodType>(schema: T, d: Digest | DigestRefusal): { digest: Digest; envelope: z.infer<T> } {
  if ("refused" in d) throw d.tooCostly ? new IntakeError(413, "request body too large", { message: d.refused }) : incorrectFormat(d.refused);
  const standIn = d.contentKind === "string" ? "" : d.contentKind === "object" ? {} : d.contentKind === "missing" ? undefined : null;
  const parsed = schema.safeParse({ format: d.format, report_id: d.reportId, content: standIn });
  if (!parsed.success) throw envelopeIssue(parsed.error);
  return { digest: d, envelope: parsed.data };
}

/** The measurement's metadata: its fields must make a JSON object (the measurement). */
function metadataOf(d: Digest): MeasurementMetadata {
  return measurementMetadata(d.fields);
}

export interface ReportTemplate {
  probe_asn: string;
  probe_cc: string;
  test_name: string;
  software_name: string;
  software_version: string;
}

const SOFTWARE = /^[0-9A-Za-z_.+-]{1,100}$/;

export class Intake {
  private readonly dedup: DedupIndex;
  private readonly clock: () => bigint;

  private readonly parser: ParsePool;

  constructor(private readonly opts: IntakeOptions) {
    this.dedup = new DedupIndex(opts.spool);
    this.clock = opts.clock ?? receptionMicros;
    this.parser = opts.parser ?? new ParsePool();
  }

  get discarding(): boolean {
    return this.opts.discard;
  }

  /**
   * POST /report: hands out a report_id. Metadata the collector would later refuse (AS0, ZZ,
   * malformed names) is refused here already, with the same error codes, rather than letting the
   * probe upload measurements that cannot be accepted.
   */
  openReport(t: ReportTemplate): { reportId: string } {
    const asnText = t.probe_asn.toUpperCase();
    if (!/^AS[0-9]{1,10}$/.test(asnText) || Number(asnText.slice(2)) > 0xffffffff) {
      throw new IntakeError(400, "asn_invalid", { message: 'probe_asn must look like "AS1234"' });
    }
    const cc = t.probe_cc.toUpperCase();
    if (!/^[A-Z]{2}$/.test(cc)) throw new IntakeError(400, "bad_metadata", { message: "probe_cc must be two letters" });
    const testName = t.test_name.toLowerCase();
    const compact = testName.replace(/_/g, "");
    if (!/^[a-z0-9_]+$/.test(testName) || compact.length < 2 || compact.length > 29) {
      throw new IntakeError(400, "bad_metadata", { message: "test_name must be a test name such as web_connectivity" });
    }
    if (!SOFTWARE.test(t.software_name) || !SOFTWARE.test(t.software_version)) {
      throw new IntakeError(400, "bad_metadata", { message: "software_name and software_version must match [0-9A-Za-z_.+-]+" });
    }
    const asn = Number(asnText.slice(2));
    rejectUnknownNetwork(cc, asn);
    return { reportId: generateReportId(testName, cc, asn, this.opts.collectorId) };
  }

  /** POST /report/{report_id}: `{format:"json", content:{measurement}}`. */
  async submitToReport(reportIdParam: string, req: Request): Promise<Accepted> {
    const rid = parseReportId(reportIdParam);
    rejectUnknownNetwork(rid.cc, rid.asn);
    await this.ensureRoom(0);
    const body = await this.readBody(req);
    const { digest, envelope } = envelopeOf(ReportEnvelope, await this.digest(body));
    checkFormat(envelope.format);
    const meta = metadataOf(digest);

    if (meta.probeCc !== rid.cc) throw inconsistent(`content.probe_cc ${meta.probeCc} differs from the report_id's ${rid.cc}`);
    if (meta.probeAsn !== rid.asn) throw inconsistent(`content.probe_asn AS${meta.probeAsn} differs from the report_id's AS${rid.asn}`);
    if (meta.testNameCompact !== rid.testName) {
      throw inconsistent(`content.test_name ${meta.testName} differs from the report_id's ${rid.testName}`);
    }
    if (meta.reportId !== null && meta.reportId !== rid.reportId) throw inconsistent("content.report_id differs from the URL's");
    const outer = envelope.report_id;
    if (outer !== undefined && outer !== rid.reportId) throw inconsistent("report_id differs from the URL's");

    const stored = meta.reportId !== null || outer !== undefined ? body : withReportIdInserted(body, rid.reportId);
    return this.store(rid.cc, rid.testName, rid.reportId, stored);
  }

  /** POST /api/v1/submit_measurement: `{format:"json", content:"<measurement as JSON text>", …}`. */
  async submitMeasurement(req: Request): Promise<Accepted> {
    await this.ensureRoom(0);
    const body = await this.readBody(req);
    const { digest, envelope } = envelopeOf(SubmitEnvelope, await this.digest(body));
    checkFormat(envelope.format);
    const meta = metadataOf(digest);
    const text = digest.text;
    rejectUnknownNetwork(meta.probeCc, meta.probeAsn);

    let reportId: string;
    if (meta.reportId !== null && meta.reportId !== "") {
      // A measurement that names its report keeps it; a current-shape id must agree with the content.
      if (!/^[A-Za-z0-9_-]{1,128}$/.test(meta.reportId)) throw new IntakeError(400, "bad_metadata", { message: "content.report_id is malformed" });
      if (meta.reportId.split("_").length === 6) {
        const rid = parseReportId(meta.reportId);
        if (rid.cc !== meta.probeCc || rid.asn !== meta.probeAsn || rid.testName !== meta.testNameCompact) {
          throw inconsistent("content.report_id does not match the measurement's probe_cc/probe_asn/test_name");
        }
      }
      reportId = meta.reportId;
    } else {
      // Derived from the body, not random: a retry must produce the same stored bytes (and uid).
      reportId = derivedReportId(meta.testName, meta.probeCc, meta.probeAsn, this.opts.collectorId, meta.testStartTime, body);
    }
    // Verified against the measurement text exactly as sent (the proof binds its hash), before the
    // bytes are chosen: the verdict is stored with them, in the envelope, as upstream does.
    const verification = this.opts.verify ? await this.opts.verify(digest.credentials as SubmissionCredentials, text, meta.probeCc, meta.probeAsnText) : undefined;
    const stored =
      text !== null
        ? envelopeAroundMeasurementText(text, reportId, verification?.code)
        : meta.reportId !== null && meta.reportId !== ""
          ? body
          : withReportIdInserted(body, reportId);
    return { ...(await this.store(meta.probeCc, meta.testNameCompact, reportId, stored)), verification };
  }

  /**
   * Refuses before anything is read or written: SpoolFullError (503) when the spool is short of
   * space, Overloaded (503) when the process is already holding too much memory.
   */
  private async ensureRoom(bytes: number): Promise<void> {
    if (bytes === 0) shedOnMemory(this.opts.shedRssBytes ?? 0);
    if (!this.opts.discard) await this.opts.space?.ensureRoom(bytes);
  }

  /** The body's digest; a body whose parse needs more memory than a thread may use is a 413. */
  private async digest(body: Buffer): Promise<Digest | DigestRefusal> {
    // The envelope is a JSON object: anything else is refused before any parsing.
    const bom = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
    const first = body.findIndex((b, i) => i >= bom && b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
    if (first < 0 || body[first] !== 0x7b) throw incorrectFormat("request body is not a JSON object");
    try {
      return await this.parser.digest(body);
    } catch (err) {
      if (err instanceof ParseTooCostly) throw new IntakeError(413, "request body too large", { message: err.message });
      throw err;
    }
  }

  /** Stops the parse thread (at shutdown). */
  async close(): Promise<void> {
    await this.parser.close();
  }

  private async readBody(req: Request): Promise<Buffer> {
    const raw = await readBodyBounded(req, this.opts.maxBytes);
    return decodeContent(req.headers.get("content-encoding") ?? undefined, raw, this.opts.maxBytes);
  }

  private async store(cc: string, testName: string, reportId: string, stored: Buffer): Promise<Accepted> {
    const hash = bodyHash16(stored);
    // The reception time is taken before queueing behind identical submissions, so uids still sort
    // in arrival order.
    const measurementUid = formatMeasurementUid(cc, testName, hash, this.clock());
    const parsed = parseMeasurementUid(measurementUid);
    if (!parsed) throw incorrectFormat("test name cannot be used in a measurement_uid");
    if (this.opts.discard) return { measurementUid, reportId, hourDir: parsed.hourDir, stored, duplicate: false };
    return this.dedup.serialize(`${parsed.cc}_${parsed.testName}_${hash}`, async () => {
      const existing = await this.dedup.findIdentical(parsed.hourDir, hash, stored);
      if (existing !== null) {
        // Identical bytes carry the identical report id (URL's, or the one inside them), so only
        // the uid differs from what a new write would answer. Needs no space: nothing is written.
        return { measurementUid: existing, reportId, hourDir: parseMeasurementUid(existing)!.hourDir, stored, duplicate: true };
      }
      // Checked again with the size: the body may be large, and the cached figure a little old.
      await this.ensureRoom(stored.length);
      try {
        await this.opts.spool.write(measurementUid, stored);
        this.opts.space?.noteWritten(stored.length);
      } catch (err) {
        if (!isNoSpaceError(err)) throw err;
        // The spool removed its temp file; the probe keeps the measurement and retries later.
        await this.opts.space?.noteNoSpace();
        throw new SpoolFullError(null, this.opts.space?.minFreeBytes ?? 0, err);
      }
      this.dedup.add(parsed.hourDir, measurementUid);
      return { measurementUid, reportId, hourDir: parsed.hourDir, stored, duplicate: false };
    });
  }

  /** Hour directories the duplicate index holds right now (tests check its eviction). */
  indexedHourDirs(): string[] {
    return this.dedup.indexedHourDirs();
  }
}
