import { makeMeasurementMeta, makeProbeMeta } from "../meta";
import { chTime, type MeasurementMeta, type MeasurementObservations, type ProbeMeta, type WebObservationRow } from "../rows";
import { dict, type Dict } from "../values";
import { WebRows, webTemplate } from "../web-observations";

// What every test's transformation starts from: the measurement's and probe's columns, and a
// row builder whose observation_idx counts from 1 over the whole measurement.

export interface TransformOptions {
  measurementUid: string;
  /** YYYY-MM-DD: the day the measurement was received (upstream: its bucket). */
  bucketDate: string;
  now?: Date;
}

export interface NettestContext {
  uid: string;
  tk: Dict;
  meta: MeasurementMeta;
  probe: ProbeMeta;
  /** null: the writer stamps it (the transformation stays a pure function). */
  createdAt: string | null;
  /** measurement_start_time as a Date, for validity checks "at the time of the measurement". */
  startTime: Date;
}

/** The keys upstream's measurement loader requires (present, even if null: `input`). */
const REQUIRED = [
  "input", "report_id", "measurement_start_time", "test_start_time", "probe_asn", "probe_cc", "test_name", "test_version",
  "test_runtime", "software_name", "software_version", "test_keys",
] as const;

/**
 * Throws when upstream's loader would reject the measurement: a required key missing, test keys
 * that are not an object. `withClientResolver: false` for the tests whose test keys upstream
 * models without client_resolver (tor, facebook_messenger): there it does not name the resolver.
 */
export function nettestContext(msm: Dict, opts: TransformOptions, withClientResolver = true): NettestContext {
  for (const k of REQUIRED) if (!(k in msm)) throw new Error(`missing field ${k}`);
  const tk = dict(msm.test_keys);
  if (!tk) throw new Error("test_keys is not an object");
  const meta = makeMeasurementMeta(msm, opts.measurementUid, opts.bucketDate);
  return {
    uid: opts.measurementUid,
    tk,
    meta,
    probe: makeProbeMeta(msm, withClientResolver ? tk : {}),
    createdAt: opts.now ? chTime(opts.now) : null,
    startTime: new Date(`${meta.measurement_start_time.replace(" ", "T")}Z`),
  };
}

export function webRowsOf(ctx: NettestContext): WebRows {
  return new WebRows(webTemplate(ctx.meta, ctx.probe, ctx.createdAt, null));
}

export function webOnly(ctx: NettestContext, web: WebObservationRow[]): MeasurementObservations {
  return { measurement_uid: ctx.uid, web, ctrl: [], middlebox: [] };
}
