// Reads an HTTP request head exactly as it arrived — method and header names in the client's own
// capitalisation, duplicates kept, order kept. That is the point of http_header_field_manipulation:
// node:http (llhttp) would refuse the probe's "GeT" method and fold names, so this is a small
// parser of its own. Lines end in CRLF or a bare LF; a line without ":" is skipped (as the legacy
// Python helper did), never fatal.

export interface RequestHead {
  requestLine: string;
  /** [name, value] in arrival order; value without surrounding whitespace. */
  headers: [string, string][];
}

/** Index just past the blank line that ends the head, or -1 while it has not arrived. */
export function headEnd(buf: Buffer): number {
  for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a, i + 1)) {
    // "\n\n" or "\n\r\n" ends the head.
    if (buf[i + 1] === 0x0a) return i + 2;
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

export function parseRequestHead(head: string): RequestHead {
  const lines = head.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  const requestLine = lines[0] ?? "";
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line === "") break;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return { requestLine, headers };
}

/** The answer body: what the probe's hhfm reads (`request_line`, `headers_dict`) plus the ordered list. */
export function describeHead(head: RequestHead) {
  const dict: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [name, value] of head.headers) (dict[name] ??= []).push(value);
  return { request_headers: head.headers, request_line: head.requestLine, headers_dict: { ...dict } };
}
