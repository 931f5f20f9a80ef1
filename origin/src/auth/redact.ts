// Request paths are logged, and one legacy route carries an email address in its path
// (GET /api/v1/get_account_role/{email}). Any path segment that looks like it holds an address
// (a raw or percent-encoded "@") is replaced before logging. The common case (no "@") costs two
// indexOf calls and returns the same string.

export function redactPath(path: string): string {
  if (path.indexOf("@") < 0 && !/%40/i.test(path)) return path;
  return path
    .split("/")
    .map((seg) => (seg.includes("@") || /%40/i.test(seg) ? "[redacted]" : seg))
    .join("/");
}
