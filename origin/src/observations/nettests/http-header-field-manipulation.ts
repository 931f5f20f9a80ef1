import type { MeasurementObservations } from "../rows";
import { arr, dict, type Dict } from "../values";
import { binaryBytes } from "../web-observations";
import { nettestContext, type TransformOptions } from "./context";
import { middleboxOnly, middleboxRow } from "./middlebox";

// http_header_field_manipulation → obs_http_middlebox: whether the echo of the request came back
// (hfm_success), else why not (hfm_failure). Upstream does not compare the echoed headers yet:
// hfm_diff stays empty, and so does the test's own `tampering` verdict.

export function httpHeaderFieldManipulationObservations(msm: Dict, opts: TransformOptions): MeasurementObservations {
  const ctx = nettestContext(msm, opts);
  const row = middleboxRow(ctx);
  const fail = (why: string) => {
    row.hfm_failure = why;
    row.hfm_success = 0;
    return middleboxOnly(ctx, row);
  };
  row.hfm_success = 1;
  const requests = arr(ctx.tk.requests);
  if (!requests || requests.length === 0) return fail("missing_requests");
  const tx = dict(requests[0]);
  if (!tx) throw new Error("requests[0] is not an HTTP transaction"); // upstream's loader rejects it
  const response = dict(tx.response);
  if (!response) return fail(typeof tx.failure === "string" && tx.failure !== "" ? tx.failure : "missing_response");
  // Decoded as upstream does, so that a body it cannot decode fails the measurement on both sides.
  if (response.body === undefined || response.body === null || binaryBytes(response.body) === null) return fail("missing_response_body");
  const request = dict(tx.request);
  if (!request || !dict(request.headers)) return fail("malformed_request");
  return middleboxOnly(ctx, row);
}
