import { pack, type Pack } from "tar-stream";
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

/** Members are added one by one and compressed (on libuv's thread pool) as they come. */
export class PostcanWriter {
  private readonly tar: Pack = pack();
  private readonly chunks: Buffer[] = [];
  private readonly done: Promise<void>;
  private pending: Promise<void> = Promise.resolve();

  constructor() {
    const gz = zlib.createGzip({ level: GZIP_LEVEL });
    gz.on("data", (c: Buffer) => this.chunks.push(c));
    this.done = new Promise<void>((resolve, reject) => {
      gz.once("end", resolve);
      gz.once("error", reject);
      this.tar.once("error", reject);
    });
    // Keep a rejection from going unhandled before finish() is awaited.
    this.done.catch(() => {});
    this.tar.pipe(gz);
  }

  add(m: CanMember): void {
    // Entries must be written one after another; the chain keeps their order.
    this.pending = this.pending.then(
      () =>
        new Promise<void>((resolve, reject) => {
          this.tar.entry(
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
        }),
    );
  }

  async finish(): Promise<Buffer> {
    await this.pending;
    this.tar.finalize();
    await this.done;
    return Buffer.concat(this.chunks);
  }
}

export async function buildPostcan(members: Iterable<CanMember>): Promise<Buffer> {
  const w = new PostcanWriter();
  for (const m of members) w.add(m);
  return w.finish();
}
