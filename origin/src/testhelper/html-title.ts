// What measurexlite.WebGetTitle matches, and exactly what it returns: the first <title>…</title>
// holding 1–512 characters and no "<", untrimmed (the probe compares titles word by word against its
// own, extracted the same way; trimming here would flip title_match on pages with padded titles).
const TITLE_RE = /<title>([^<]{1,512})<\/title>/iu;

export function htmlTitle(body: string): string {
  return TITLE_RE.exec(body)?.[1] ?? "";
}
