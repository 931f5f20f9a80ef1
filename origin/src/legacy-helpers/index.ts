// The legacy test helpers the probe's middlebox tests need (type "legacy" in the test-helpers map):
// raw TCP servers, so they run on the origin side, never in a Worker (docs/edge.md).
export { startTcpEcho, type TcpEchoOptions } from "./tcp-echo";
export { startJsonHeaders, type JsonHeadersOptions } from "./json-headers";
export type { LegacyServer } from "./listen";
