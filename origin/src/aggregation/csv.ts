// RFC 4180 CSV: a header line, CRLF line ends, fields quoted only when they contain a comma, a
// quote or a line break (quotes doubled).

function field(v: unknown): string {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  const lines = [columns.map(field).join(",")];
  for (const r of rows) lines.push(columns.map((c) => field(r[c])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
