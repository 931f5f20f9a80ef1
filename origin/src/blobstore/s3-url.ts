// URL building for S3 requests. Keys are encoded per segment with RFC 3986 rules, which is also
// what aws4fetch canonicalises for SigV4, so the signed path and the sent path agree.

const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function encodeSegment(segment: string): string {
  // encodeURIComponent leaves !'()* alone; RFC 3986 (and SigV4) reserve them.
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function encodeKeyPath(key: string): string {
  return key.split("/").map(encodeSegment).join("/");
}

export interface S3Location {
  endpoint: URL;
  bucket: string;
  forcePathStyle: boolean;
}

export function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TypeError(`S3 endpoint ${JSON.stringify(endpoint)} is not a valid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`S3 endpoint must be http(s), got ${url.protocol}`);
  }
  // Credentials belong in accessKeyId/secretAccessKey, and URLs end up in logs and errors.
  if (url.username || url.password) throw new TypeError("S3 endpoint must not contain credentials");
  if (url.search || url.hash) throw new TypeError("S3 endpoint must not contain a query or fragment");
  return url;
}

export function assertBucketName(bucket: string): void {
  if (!BUCKET_NAME.test(bucket) || bucket.length > 255) {
    throw new TypeError(`invalid S3 bucket name ${JSON.stringify(bucket)}`);
  }
}

/** URL of the bucket itself (for ListObjectsV2); `encodedKey` appends an object path. */
export function s3Url(loc: S3Location, encodedKey = ""): URL {
  const url = new URL(loc.endpoint.href);
  const base = url.pathname.replace(/\/+$/, "");
  if (loc.forcePathStyle) {
    url.pathname = `${base}/${encodeSegment(loc.bucket)}${encodedKey ? `/${encodedKey}` : ""}`;
  } else {
    url.hostname = `${loc.bucket}.${url.hostname}`;
    url.pathname = `${base}/${encodedKey}`;
  }
  return url;
}
