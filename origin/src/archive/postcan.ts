import { pack } from "tar-stream";
import zlib from "node:zlib";
import { GZIP_LEVEL } from "./jsonl-member";

// A postcan: a tar.gz of the hour directory's `.post` files, members `<hourdir>/<uid>.post`, the
// legacy collector's archive format. Every header field is fixed or derived from the member (no
// "now", no owner names) so the same files always give the same bytes.

export interface CanMember {
  /** Path inside the archive, e.g. "2024010112_IT_webconnectivity/<uid>.post". */
  name: string;
  data: Uint8Array;
  /** Reception time (from the uid): the member's mtime. */
  mtime: Date;
}

export async function buildPostcan(members: Iterable<CanMember>): Promise<Buffer> {
  const tar = pack();
  const gz = zlib.createGzip({ level: GZIP_LEVEL });
  const chunks: Buffer[] = [];
  gz.on("data", (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    gz.once("end", resolve);
    gz.once("error", reject);
    tar.once("error", reject);
  });
  tar.pipe(gz);
  for (const m of members) {
    await new Promise<void>((resolve, reject) => {
      tar.entry(
        {
          name: m.name,
          size: m.data.length,
          // tar stores whole seconds; truncating keeps the value identical on every run.
          mtime: new Date(Math.floor(m.mtime.getTime() / 1000) * 1000),
          mode: 0o644,
          uid: 0,
          gid: 0,
          uname: "",
          gname: "",
          type: "file",
        },
        Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength),
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }
  tar.finalize();
  await done;
  return Buffer.concat(chunks);
}
