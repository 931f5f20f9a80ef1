import { crashSuite } from "./crash-suite";
import { startS3rver } from "./s3rver";

// The crash suite with the blob store on s3rver: each boundary archives under its own prefix.
crashSuite("s3rver", async () => {
  const s3 = await startS3rver();
  return { env: (prefix) => s3.env(`crash/${prefix}`), close: () => s3.close() };
});
