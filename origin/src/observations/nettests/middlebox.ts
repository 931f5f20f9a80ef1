import { OBS_HTTP_MIDDLEBOX_COLUMNS } from "../columns";
import type { HttpMiddleboxRow, MeasurementObservations } from "../rows";
import type { NettestContext } from "./context";

// The one obs_http_middlebox row a middlebox test makes: the measurement's columns, everything
// else empty until the test's module fills it in.

const DEFAULTS = Object.fromEntries(OBS_HTTP_MIDDLEBOX_COLUMNS.map(([name]) => [name, null])) as unknown as HttpMiddleboxRow;

export function middleboxRow(ctx: NettestContext): HttpMiddleboxRow {
  const row: HttpMiddleboxRow = { ...DEFAULTS, ...ctx.meta, ...ctx.probe };
  row.observation_idx = 1;
  row.created_at = ctx.createdAt;
  return row;
}

export function middleboxOnly(ctx: NettestContext, row: HttpMiddleboxRow): MeasurementObservations {
  return { measurement_uid: ctx.uid, web: [], ctrl: [], middlebox: [row] };
}
