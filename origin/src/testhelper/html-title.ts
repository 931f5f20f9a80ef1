// What measurexlite.WebGetTitle matches: the first <title>…</title> holding 1–512 characters and no
// "<". We also trim surrounding whitespace.
const TITLE_RE = /<title>([^<]{1,512})<\/title>/iu;

export function htmlTitle(body: string): string {
  return TITLE_RE.exec(body)?.[1]?.trim() ?? "";
}
