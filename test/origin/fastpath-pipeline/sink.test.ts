import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { FastpathRow } from "../../../origin/src/fastpath/row";
import { backoffMs, RowSink } from "../../../origin/src/fastpath/pipeline/sink";

// Batching and retry rules of the row sink, on a fake clock (deterministic; no timing assertions).

function row(n: number): FastpathRow {
  return { measurement_uid: `uid-${n}` } as FastpathRow;
}

function harness(over: { batchRows?: number; flushMs?: number } = {}) {
  const batches: string[][] = [];
  const inserted: string[][] = [];
  let failNext = 0;
  const errors: number[] = [];
  let recovered = 0;
  const sink = new RowSink({
    batchRows: over.batchRows ?? 3,
    flushMs: over.flushMs ?? 500,
    insert: async (rows) => {
      batches.push(rows.map((r) => r.measurement_uid));
      if (failNext > 0) {
        failNext--;
        throw new Error("down");
      }
    },
    onInserted: (rows) => inserted.push(rows.map((r) => r.measurement_uid)),
    onError: (_err, attempt) => errors.push(attempt),
    onRecovered: () => recovered++,
  });
  return {
    sink,
    batches,
    inserted,
    errors,
    get recovered() {
      return recovered;
    },
    fail(n: number) {
      failNext = n;
    },
  };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("RowSink", () => {
  it("a full batch goes at once; a partial one after flushMs, not before", async () => {
    const h = harness();
    for (let i = 0; i < 4; i++) h.sink.add(row(i));
    await vi.advanceTimersByTimeAsync(0);
    expect(h.inserted).toEqual([["uid-0", "uid-1", "uid-2"]]);
    // uid-3 arrived during the insert: it goes within flushMs.
    await vi.advanceTimersByTimeAsync(499);
    expect(h.inserted).toHaveLength(2);
    const late = harness();
    late.sink.add(row(9));
    await vi.advanceTimersByTimeAsync(499);
    expect(late.inserted).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(late.inserted).toEqual([["uid-9"]]);
  });

  it("keeps rows across failed INSERTs, in order, backing off exponentially", async () => {
    const h = harness();
    h.fail(3);
    for (let i = 0; i < 3; i++) h.sink.add(row(i));
    await vi.advanceTimersByTimeAsync(0);
    expect(h.errors).toEqual([1]);
    expect(h.sink.failing).toBe(true);
    h.sink.add(row(3));
    expect(h.sink.backlog).toBe(4);
    await vi.advanceTimersByTimeAsync(backoffMs(1));
    expect(h.errors).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(backoffMs(2) - 1);
    expect(h.errors).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.errors).toEqual([1, 2, 3]);
    await vi.advanceTimersByTimeAsync(backoffMs(3));
    expect(h.recovered).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.inserted.flat()).toEqual(["uid-0", "uid-1", "uid-2", "uid-3"]);
    expect(h.sink.backlog).toBe(0);
    expect(h.sink.failing).toBe(false);
  });

  it("backoff grows to a ceiling", () => {
    expect(backoffMs(1)).toBe(250);
    expect(backoffMs(2)).toBe(500);
    expect(backoffMs(100)).toBe(30_000);
  });

  it("close flushes once when healthy, and drops (the spool keeps them) when not", async () => {
    const h = harness({ batchRows: 100 });
    h.sink.add(row(1));
    await h.sink.close(true);
    expect(h.inserted).toEqual([["uid-1"]]);
    const down = harness({ batchRows: 1 });
    down.fail(99);
    down.sink.add(row(2));
    await vi.advanceTimersByTimeAsync(0);
    await down.sink.close(true);
    expect(down.inserted).toEqual([]);
    expect(down.sink.backlog).toBe(0);
  });
});
