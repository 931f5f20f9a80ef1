// Headers that describe one connection hop (RFC 9110 §7.6.1 and their legacy cousins) or claim a
// client address: never copied from a client request onto a request the edge makes.
export const HOP_AND_ADDRESS_HEADERS = [
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "x-real-ip",
  "forwarded",
] as const;
