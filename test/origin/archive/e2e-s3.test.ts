import { archiveEndToEnd } from "./e2e-suite";
import { startS3rver } from "./s3rver";

// The same suite with the blob store on S3 (s3rver on loopback).
archiveEndToEnd("s3rver", async () => {
  const s3 = await startS3rver();
  return { env: s3.env("e2e"), close: () => s3.close() };
});
