import { scoreBrowserWeb } from "./browser-web";
import type { Scorer } from "./common";
import { scoreDash } from "./dash";
import { scoreDnsConsistency } from "./dns-consistency";
import { scoreFacebookMessenger } from "./facebook-messenger";
import { scoreHttpHeaderFieldManipulation } from "./http-header-field-manipulation";
import { scoreHttpInvalidRequestLine } from "./http-invalid-request-line";
import { scoreHttpRequests } from "./http-requests";
import { scoreMeekFrontedRequestsTest } from "./meek-fronted-requests-test";
import { scoreNdt } from "./ndt";
import { scoreOpenvpn } from "./openvpn";
import { scorePsiphon } from "./psiphon";
import { scoreRiseupvpn } from "./riseupvpn";
import { scoreSignal } from "./signal";
import { scoreStunreachability } from "./stunreachability";
import { scoreTcpConnect } from "./tcp-connect";
import { scoreTelegram } from "./telegram";
import { scoreTor } from "./tor";
import { scoreTorsf } from "./torsf";
import { scoreVanillaTor } from "./vanilla-tor";
import { scoreWebConnectivity } from "./web-connectivity";
import { scoreWhatsapp } from "./whatsapp";

export type { Scorer, ScorerInput, Scores } from "./common";
export { failedScores, initScores } from "./common";

/** One scorer per test name the fastpath knows; any other name is scored as failed. */
export const SCORERS: ReadonlyMap<string, Scorer> = new Map<string, Scorer>([
  ["web_connectivity", scoreWebConnectivity],
  ["telegram", scoreTelegram],
  ["facebook_messenger", scoreFacebookMessenger],
  ["whatsapp", scoreWhatsapp],
  ["signal", scoreSignal],
  ["http_header_field_manipulation", scoreHttpHeaderFieldManipulation],
  ["http_invalid_request_line", scoreHttpInvalidRequestLine],
  ["vanilla_tor", scoreVanillaTor],
  ["tor", scoreTor],
  ["torsf", scoreTorsf],
  ["psiphon", scorePsiphon],
  ["meek_fronted_requests_test", scoreMeekFrontedRequestsTest],
  ["tcp_connect", scoreTcpConnect],
  ["dash", scoreDash],
  ["ndt", scoreNdt],
  ["stunreachability", scoreStunreachability],
  ["openvpn", scoreOpenvpn],
  ["riseupvpn", scoreRiseupvpn],
  ["browser_web", scoreBrowserWeb],
  ["dns_consistency", scoreDnsConsistency],
  ["http_requests", scoreHttpRequests],
]);
