import type { MeasurementObservations } from "../rows";
import type { Dict } from "../values";
import { webConnectivityObservations } from "../web-connectivity";
import { browserWebObservations } from "./browser-web";
import type { TransformOptions } from "./context";
import { dnscheckObservations } from "./dnscheck";
import { echcheckObservations } from "./echcheck";
import { facebookMessengerObservations } from "./facebook-messenger";
import { httpHeaderFieldManipulationObservations } from "./http-header-field-manipulation";
import { httpInvalidRequestLineObservations } from "./http-invalid-request-line";
import { signalObservations } from "./signal";
import { stunreachabilityObservations } from "./stunreachability";
import { telegramObservations } from "./telegram";
import { torObservations } from "./tor";
import { urlgetterObservations } from "./urlgetter";
import { whatsappObservations } from "./whatsapp";

// test_name → its transformation: the tests upstream's pipeline has observations for
// (oonipipeline transforms/observations.py NETTEST_TRANSFORMERS), no more. Each throws on a
// measurement it cannot take apart.

export type Transformation = (msm: Dict, opts: TransformOptions) => MeasurementObservations;

export const TRANSFORMATIONS: ReadonlyMap<string, Transformation> = new Map<string, Transformation>([
  ["web_connectivity", webConnectivityObservations],
  ["dnscheck", dnscheckObservations],
  ["signal", signalObservations],
  ["facebook_messenger", facebookMessengerObservations],
  ["whatsapp", whatsappObservations],
  ["telegram", telegramObservations],
  ["stunreachability", stunreachabilityObservations],
  ["tor", torObservations],
  ["browser_web", browserWebObservations],
  ["urlgetter", urlgetterObservations],
  ["http_header_field_manipulation", httpHeaderFieldManipulationObservations],
  ["http_invalid_request_line", httpInvalidRequestLineObservations],
  ["echcheck", echcheckObservations],
]);
