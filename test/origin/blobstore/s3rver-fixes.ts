// s3rver 3.7.1 is a convenient in-process fake, but it departs from S3 in ways the blob store
// contract (rightly) notices. These patches make the fake behave like S3 where it matters; they
// touch only the test process and the s3rver instance handed in.
import crypto from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename } from "node:fs/promises";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type S3rver from "s3rver";
import { compareKeys } from "../../../origin/src/blobstore/index";

let desShimInstalled = false;

/**
 * s3rver encrypts ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 (Node ≥ 17)
 * only offers through the legacy provider: every paginated listing answers HTTP 500 otherwise.
 * 3DES with K1 = K2 = K3 is bit-for-bit single DES and is still in the default provider, so map
 * "des" onto it — and only when the real thing is unavailable.
 */
function installDesShim(): void {
  if (desShimInstalled) return;
  desShimInstalled = true;
  try {
    crypto.createCipheriv("des", Buffer.alloc(8), Buffer.alloc(8));
    return;
  } catch {
    // fall through: DES unsupported here
  }
  const widen = (key: crypto.CipherKey): Buffer => {
    const k = Buffer.from(key as Uint8Array);
    return Buffer.concat([k, k, k]);
  };
  const { createCipheriv, createDecipheriv } = crypto;
  const c = crypto as unknown as Record<string, unknown>;
  c.createCipheriv = (alg: string, key: crypto.CipherKey, iv: crypto.BinaryLike | null, opts?: never) =>
    alg === "des" ? createCipheriv("des-ede3-cbc", widen(key), iv) : createCipheriv(alg, key, iv, opts);
  c.createDecipheriv = (alg: string, key: crypto.CipherKey, iv: crypto.BinaryLike | null, opts?: never) =>
    alg === "des" ? createDecipheriv("des-ede3-cbc", widen(key), iv) : createDecipheriv(alg, key, iv, opts);
}

export function applyS3rverFixes(server: S3rver): void {
  installDesShim();
  const store = server.store;

  // Listing order: s3rver walks its on-disk layout (dir "a" before file "a-c._S3rver_object"), so
  // keys come out as a/b, a-c where S3 gives a-c, a/b; its startAfter pagination then trusts that
  // order. List everything, sort by UTF-8 bytes like S3, and paginate here. (No delimiter support
  // needed: the adapter never sends one.)
  const listObjects = store.listObjects.bind(store);
  store.listObjects = async (bucket, options) => {
    if (options.delimiter) return listObjects(bucket, options);
    const all = await listObjects(bucket, { prefix: options.prefix ?? "" });
    const after = options.startAfter ?? "";
    const objects = all.objects
      .filter((o) => after === "" || compareKeys(o.key, after) > 0)
      .sort((a, b) => compareKeys(a.key, b.key));
    const maxKeys = options.maxKeys ?? Infinity;
    return { objects: objects.slice(0, maxKeys), commonPrefixes: [], isTruncated: objects.length > maxKeys };
  };

  // Read-after-write: s3rver answers a PUT once the body has gone through its hashing transform,
  // before the file stream has opened, written and closed the object file — a HEAD or GET right
  // after the 200 may see 0 bytes (the uploader's size check caught it under load). S3 is
  // read-after-write consistent: write a temp file to the end, rename it into place, then answer.
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, "object");
    await mkdir(path.dirname(objectPath), { recursive: true });
    // Never ends in "._S3rver_object", so s3rver's listing skips it.
    const tmp = `${objectPath}.${crypto.randomBytes(6).toString("hex")}.tmp`;
    const md5 = crypto.createHash("md5");
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        md5.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const body = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : (object.content ?? Readable.from([]));
    await pipeline(body, count, createWriteStream(tmp));
    await rename(tmp, objectPath);
    const digest = md5.digest("hex");
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };

  // Atomic puts: s3rver streams the body straight into the final file, so concurrent PUTs of one
  // key interleave into a corrupt object. S3 guarantees last-writer-wins of whole objects;
  // serialising writes per key gives the same observable result.
  const putObject = store.putObject.bind(store);
  const inFlight = new Map<string, Promise<unknown>>();
  store.putObject = (object) => {
    const id = `${object.bucket}/${object.key}`;
    const run = (inFlight.get(id) ?? Promise.resolve()).catch(() => undefined).then(() => putObject(object));
    inFlight.set(id, run);
    void run.finally(() => {
      if (inFlight.get(id) === run) inFlight.delete(id);
    }).catch(() => undefined);
    return run;
  };

  // A range on an empty object: s3rver answers 206 with Content-Length 1 and no body, so the
  // connection dies mid-response. S3 answers 416 InvalidRange, which s3rver produces for
  // unsatisfiable ranges when the object has no content stream.
  const getObject = store.getObject.bind(store);
  store.getObject = async (bucket, key, options) => {
    const object = await getObject(bucket, key, options);
    if (object?.range && object.size === 0 && object.content) {
      if ("destroy" in object.content) object.content.destroy();
      object.content = null;
    }
    return object;
  };
}
