import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { compress } from "@mongodb-js/zstd";
import { afterAll, describe, expect, it } from "vitest";
import { startOriginProcess, type OriginProcess } from "../../support/origin-process";
import { measurement, openReport } from "./helpers";

// A 200 is a promise. A burst of submissions, SIGKILL the origin the moment the last 200 of the
// acknowledged set arrives (others still in flight), then check on disk: every acknowledged uid is
// there, byte-identical to what was sent after decoding, and no .post file is partial.
// (SIGKILL keeps the page cache, so this proves the ordering "on disk before the 200"; surviving a
// power cut additionally relies on the fsyncs, which no test here can cut power to check.)

let origin: OriginProcess | undefined;
afterAll(() => origin?.cleanup());

describe("crash after acknowledgement", () => {
  it("keeps every acknowledged measurement through a SIGKILL", { timeout: 240_000 }, async () => {
    origin = await startOriginProcess();
    const o = origin;
    const rid = await openReport(o.url);
    const N = 400;
    const bodies = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const body = Buffer.from(JSON.stringify({ format: "json", content: measurement(rid, { input: `https://example.org/${i}`, pad: "p".repeat(i * 13) }) }));
        const enc = (["identity", "gzip", "zstd"] as const)[i % 3]!;
        const sent = enc === "gzip" ? gzipSync(body) : enc === "zstd" ? await compress(body) : body;
        return { body, sent, enc };
      }),
    );
    const acked = new Map<string, Buffer>();
    const KILL_AFTER = 300;
    let killed: Promise<void> | null = null;
    let next = 0;
    // 32 concurrent clients.
    const worker = async () => {
      while (next < N && !killed) {
        const { body, sent, enc } = bodies[next++]!;
        try {
          const res = await fetch(`${o.url}/report/${rid}`, {
            method: "POST",
            headers: { "content-type": "application/json", ...(enc === "identity" ? {} : { "content-encoding": enc }) },
            body: sent,
          });
          if (res.status !== 200) throw new Error(`unexpected ${res.status}: ${await res.text()}`);
          const { measurement_uid } = (await res.json()) as { measurement_uid: string };
          acked.set(measurement_uid, body);
          if (acked.size >= KILL_AFTER && !killed) killed = o.kill();
        } catch (err) {
          if (!killed) throw err; // after the kill, in-flight requests fail: expected
        }
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    await killed;
    expect(o.child.signalCode).toBe("SIGKILL");
    expect(acked.size).toBeGreaterThanOrEqual(KILL_AFTER);

    const incoming = path.join(o.dataDir, "spool", "incoming");
    const onDisk = new Map<string, Buffer>();
    for (const dir of readdirSync(incoming)) {
      for (const name of readdirSync(path.join(incoming, dir))) {
        if (!name.endsWith(".post")) continue; // temp files of unacknowledged requests may remain
        onDisk.set(name.slice(0, -5), readFileSync(path.join(incoming, dir, name)));
      }
    }
    for (const [uid, body] of acked) {
      expect(onDisk.get(uid), uid).toEqual(body);
    }
    // No .post file is partial: each one's bytes still hash to the uid it is named after.
    for (const [uid, data] of onDisk) {
      expect(createHash("sha512").update(data).digest("hex").slice(0, 16)).toBe(uid.slice(-16));
    }
    // And the origin starts again on the same data directory, serving the spool.
    const again = await startOriginProcess({ dataDir: o.dataDir });
    try {
      const res = await fetch(`${again.url}/health`);
      expect(res.status).toBe(200);
    } finally {
      await again.stop();
    }
  });
});
