// Minimal parsing of the two S3 XML documents we need (ListBucketResult and Error). S3 emits flat,
// attribute-free elements, so targeted element extraction is enough; entity decoding is not optional
// because keys may contain &, <, ', " etc.

const ENTITY = /&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/g;
const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Single pass, so "&amp;lt;" becomes "&lt;" and not "<". */
export function decodeXmlEntities(text: string): string {
  return text.replace(ENTITY, (whole, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
    if (name !== undefined) return NAMED[name] ?? whole;
    const cp = hex !== undefined ? Number.parseInt(hex, 16) : Number.parseInt(dec ?? "", 10);
    return Number.isInteger(cp) && cp >= 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : whole;
  });
}

/** Text content of an element body: CDATA sections verbatim, everything else entity-decoded. */
function textContent(raw: string): string {
  let out = "";
  let rest = raw;
  for (;;) {
    const start = rest.indexOf("<![CDATA[");
    if (start === -1) return out + decodeXmlEntities(rest);
    const end = rest.indexOf("]]>", start + 9);
    if (end === -1) return out + decodeXmlEntities(rest);
    out += decodeXmlEntities(rest.slice(0, start)) + rest.slice(start + 9, end);
    rest = rest.slice(end + 3);
  }
}

function elements(xml: string, tag: string): string[] {
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${tag}\\s*>)`, "g");
  return Array.from(xml.matchAll(re), (m) => m[1] ?? "");
}

function firstText(xml: string, tag: string): string | undefined {
  const [raw] = elements(xml, tag);
  return raw === undefined ? undefined : textContent(raw);
}

export interface ListedObject {
  key: string;
  size: number;
  etag?: string;
  lastModified?: Date;
}

export interface ListPage {
  objects: ListedObject[];
  isTruncated: boolean;
  nextContinuationToken?: string;
}

export function parseListObjectsV2(xml: string): ListPage {
  const objects: ListedObject[] = [];
  for (const body of elements(xml, "Contents")) {
    const key = firstText(body, "Key");
    const size = Number(firstText(body, "Size"));
    if (key === undefined || !Number.isSafeInteger(size)) {
      throw new Error("ListObjectsV2 response has a Contents entry without a valid Key/Size");
    }
    const obj: ListedObject = { key, size };
    const etag = firstText(body, "ETag");
    if (etag) obj.etag = etag;
    const modified = firstText(body, "LastModified");
    const date = modified ? new Date(modified) : undefined;
    if (date && !Number.isNaN(date.getTime())) obj.lastModified = date;
    objects.push(obj);
  }
  // Top-level fields are looked up outside the Contents entries so nothing nested can shadow them.
  const outer = xml.replace(/<Contents(?:\s[^>]*)?>[\s\S]*?<\/Contents\s*>/g, "");
  const page: ListPage = { objects, isTruncated: firstText(outer, "IsTruncated")?.trim() === "true" };
  const token = firstText(outer, "NextContinuationToken");
  if (token) page.nextContinuationToken = token;
  return page;
}

export function parseS3Error(xml: string): { code?: string; message?: string } {
  const out: { code?: string; message?: string } = {};
  const code = firstText(xml, "Code");
  const message = firstText(xml, "Message");
  if (code) out.code = code.trim();
  if (message) out.message = message.trim();
  return out;
}
