import { describe, expect, it } from "vitest";
import { Overloaded, shedOnMemory } from "../../../origin/src/intake/overload";
import { gzipSync } from "node:zlib";
import { decodeContent } from "../../../origin/src/intake/body";
import { digestSubmission, JsonValueCounter, jsonValuesExceed } from "../../../origin/src/intake/parse/digest";
import { ParseOverloaded, ParsePool } from "../../../origin/src/intake/parse/pool";
import { measurement } from "./helpers";

// Large submission bodies are parsed on a thread with a capped heap (origin/src/intake/parse/pool.ts).

const MiB = 1 << 20;
const rid = "20240214T090617Z_webconnectivity_IT_30722_n1_abcdefabcdefabcd";

/** A real-shaped measurement padded to about `size` bytes, as a submit_measurement body. */
function bigSubmission(size: number): Buffer {
  const text = JSON.stringify(measurement(undefined, { report_id: "", test_keys: { body: "b".repeat(size) } }));
  return Buffer.from(JSON.stringify({ format: "json", content: text, nym: null }));
}

/** `{"format":"json","content":{…,"x":[[],[],…]}}` of about `size` bytes: cheap to send, costly to parse. */
function bomb(size: number): Buffer {
  const head = JSON.stringify({ format: "json", content: { ...measurement(rid), x: [] } }).slice(0, -3); // drop "]}}"
  const n = Math.floor((size - head.length) / 3);
  return Buffer.concat([Buffer.from(head), Buffer.from("[],".repeat(n - 1)), Buffer.from("[]]}}")]);
}

describe("parse pool", () => {
  it("parses a large body on the thread, with the same digest as on the event loop", async () => {
    const pool = new ParsePool({ inlineBytes: 256 * 1024, heapMb: 128, maxQueuedBytes: 64 * MiB, recycleAfterBytes: 4 * MiB });
    const body = bigSubmission(2 * MiB);
    const d = await pool.digest(body);
    expect(pool.offloaded).toBe(1);
    expect(d).toEqual(digestSubmission(body));
    expect(d).toMatchObject({ contentKind: "string", fields: { probe_cc: "IT", report_id: "" } });
    // The caller's bytes are untouched (a copy went to the thread): they are what gets stored.
    expect(body.subarray(0, 10).toString()).toBe('{"format":');
    await pool.close();
  });

  it("a body holding more JSON values than allowed is refused on the thread before it is parsed (also inside a string content)", async () => {
    const pool = new ParsePool({ inlineBytes: 256 * 1024, heapMb: 256, maxQueuedBytes: 256 * MiB, recycleAfterBytes: 4 * MiB });
    const d = await pool.digest(bomb(24 * MiB));
    expect(d).toMatchObject({ tooCostly: true });
    expect(pool.offloaded).toBe(1);
    // The same bomb as current probes would send it: the measurement as a JSON string.
    const inner = bomb(8 * MiB).toString();
    const asString = Buffer.from(JSON.stringify({ format: "json", content: inner.slice(inner.indexOf('"content":') + 10, -1) }));
    expect(await pool.digest(asString)).toMatchObject({ tooCostly: true, refused: expect.stringMatching(/^content holds more than/) });
    expect(pool.deaths).toBe(0);
    expect(await pool.digest(bigSubmission(MiB))).toMatchObject({ contentKind: "string" });
    await pool.close();
  });

  it("the value count never undercounts a real measurement, and stops a bomb", () => {
    const real = JSON.stringify(measurement(rid));
    const values = (text: string) => {
      let n = 0;
      JSON.parse(text, function (_k, v) {
        n++;
        return v;
      });
      return n;
    };
    expect(jsonValuesExceed(real, values(real) - 1)).toBe(true);
    expect(jsonValuesExceed('{"a":"[,{:\\"x"}', 3)).toBe(false); // what is inside strings does not count
    expect(jsonValuesExceed('{"a":"[,{:\\"x"}', 2)).toBe(true);
    expect(jsonValuesExceed("[],".repeat(10) + "[]", 10)).toBe(true);
  });

  it("more bytes waiting than allowed: the newcomer is shed (ParseOverloaded, a 503), the others are parsed", async () => {
    const pool = new ParsePool({ inlineBytes: 256 * 1024, heapMb: 128, maxQueuedBytes: 3 * MiB, recycleAfterBytes: 4 * MiB });
    const results = await Promise.allSettled([pool.digest(bigSubmission(2 * MiB)), pool.digest(bigSubmission(2 * MiB))]);
    expect(results[0]!.status).toBe("fulfilled");
    expect(results[1]!.status).toBe("rejected");
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(ParseOverloaded);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(Overloaded);
    expect(pool.pendingBytes).toBe(0);
    await pool.close();
  });

  it("refusals found while parsing are the same on the thread and inline", async () => {
    const pool = new ParsePool({ inlineBytes: 16, heapMb: 64, maxQueuedBytes: 64 * MiB, recycleAfterBytes: 4 * MiB });
    for (const body of ['{"format":"json","content":"not json"}', '{"format": "json", "content": [1]}', "{\"a\":\xff}", '{"format":']) {
      expect(await pool.digest(Buffer.from(body, "latin1"))).toEqual(digestSubmission(Buffer.from(body, "latin1")));
    }
    await pool.close();
  });

  it("the count over pieces (as a body decompresses) agrees with the count over the whole text, wherever it is cut", () => {
    const text = JSON.stringify({ ...measurement(rid), s: 'a "quoted" \\ [,{:] é', arr: [[1, 2], { k: "v" }] });
    const exact = (limit: number) => jsonValuesExceed(text, limit);
    const bytes = Buffer.from(text);
    for (const cut of [1, 7, 64, 1000]) {
      for (const limit of [5, 20, 40, 60, 1000]) {
        const c = new JsonValueCounter(limit);
        let over = false;
        for (let i = 0; i < bytes.length; i += cut) over = c.feed(bytes.subarray(i, i + cut)) || over;
        expect(over, `cut ${cut}, limit ${limit}`).toBe(exact(limit));
      }
    }
  });

  it("a gzip bomb is refused while it decompresses (413), before the rest is expanded", async () => {
    const b = bomb(48 * MiB);
    const gz = gzipSync(b);
    await expect(decodeContent("gzip", gz, 50 * MiB)).rejects.toMatchObject({ status: 413, extra: { message: expect.stringMatching(/JSON values/) } });
    // A real body decodes as before.
    const real = bigSubmission(MiB);
    expect((await decodeContent("gzip", gzipSync(real), 50 * MiB)).equals(real)).toBe(true);
  });

  it("memory shedding: above the limit → Overloaded(memory); 0 turns it off", () => {
    expect(() => shedOnMemory(1000, () => 1001)).toThrow(Overloaded);
    expect(() => shedOnMemory(1000, () => 999)).not.toThrow();
    expect(() => shedOnMemory(0, () => 1e12)).not.toThrow();
  });
});
