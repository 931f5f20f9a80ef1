import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CsvChunker } from "../../../origin/src/export/csv-chunker";
import { Throttle } from "../../../origin/src/export/throttle";
import { parseCsv } from "../../../origin/src/testlists/csv";

// Parts must be whole CSV files cut only between rows, whatever the input chunking.

const header = '"a","b"\n';
const csvField = (s: string) => `"${s.replace(/"/g, '""')}"`;

function feed(chunker: CsvChunker, text: string, sizes: number[]): Buffer[] {
  const buf = Buffer.from(text);
  const parts: Buffer[] = [];
  let at = 0;
  let k = 0;
  while (at < buf.length) {
    const n = Math.max(1, sizes[k++ % sizes.length]!);
    for (const p of chunker.push(buf.subarray(at, at + n))) parts.push(p.data);
    at += n;
  }
  return parts;
}

describe("CsvChunker", () => {
  it("cuts between rows only, repeats the header, and counts rows — for any chunking", () => {
    const field = fc.string({ unit: fc.constantFrom("x", ",", '"', "\n", "é", " ") , maxLength: 12 });
    fc.assert(
      fc.property(fc.array(fc.tuple(field, fc.integer({ min: 0, max: 999 })), { maxLength: 40 }), fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 64 }), (rows, sizes, target) => {
        const body = rows.map(([s, n]) => `${csvField(s)},${n}\n`).join("");
        const chunker = new CsvChunker(target);
        chunker.startResult();
        const parts = feed(chunker, header + body, sizes);
        const last = chunker.finish();
        if (last) parts.push(last.data);
        const seen: string[][] = [];
        for (const p of parts) {
          const text = p.toString("utf8");
          expect(text.startsWith(header)).toBe(true);
          const records = parseCsv(text);
          expect(records[0]!.fields).toEqual(["a", "b"]);
          seen.push(...records.slice(1).map((r) => r.fields));
        }
        expect(seen).toEqual(rows.map(([s, n]) => [s, String(n)]));
      }),
      { numRuns: 300 },
    );
  });

  it("joins several results (one per bucket query) under one header", () => {
    const c = new CsvChunker(1 << 20);
    c.startResult();
    expect(c.push(Buffer.from(`${header}"x",1\n`))).toEqual([]);
    c.startResult();
    c.push(Buffer.from(`${header}"y",2\n`));
    c.startResult();
    c.push(Buffer.from(header)); // an empty slice still has its header
    expect(c.finish()).toEqual({ data: Buffer.from(`${header}"x",1\n"y",2\n`), rows: 2 });
    const d = new CsvChunker(10);
    d.startResult();
    d.push(Buffer.from(header));
    d.startResult();
    expect(() => d.push(Buffer.from('"a","c"\n'))).toThrow(/header line changed/);
  });

  it("refuses input that stops in the middle of a row or of a quoted field", () => {
    const a = new CsvChunker(10);
    a.startResult();
    a.push(Buffer.from(`${header}"x",1\n"y",`));
    expect(() => a.finish()).toThrow(/middle of a row/);
    const b = new CsvChunker(10);
    b.startResult();
    b.push(Buffer.from(`${header}"x\n`));
    expect(() => b.finish()).toThrow(/inside a quoted field/);
  });
});

describe("Throttle", () => {
  it("delays just enough to keep the average rate", () => {
    let now = 0;
    const t = new Throttle(1000, () => now);
    expect(t.delayAfter(500)).toBe(500);
    now = 500;
    expect(t.delayAfter(500)).toBe(500);
    now = 3000; // behind schedule: no wait
    expect(t.delayAfter(1000)).toBe(0);
    expect(new Throttle(0, () => 0).delayAfter(1e12)).toBe(0);
  });
});
