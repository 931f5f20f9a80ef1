import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { QuotaStore, type Budget } from "../../../origin/src/quotas/store";
import { repoRoot } from "../../support/origin-process";

// The LMDB quota store on a real temp directory, with a fake clock so refill is exact.

const DAY = 86_400_000;
const net: Budget = { daySeconds: 100, weekSeconds: 300, monthSeconds: 600 };
const acct: Budget = { daySeconds: 10, weekSeconds: 0, monthSeconds: 0 };

let dir: string;
let now: number;
let store: QuotaStore;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "quota-store-"));
  now = 1_800_000_000_000;
  store = new QuotaStore({ dir, network: net, account: acct, now: () => now });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("QuotaStore", () => {
  it("an unseen key has its whole budget and nothing stored", () => {
    expect(store.retryAfter("n:a", null)).toBe(0);
    expect(store.summary(10)).toEqual({ networks: [], accounts: [] });
  });

  it("charges every bucket and reports the lowest remaining", () => {
    expect(store.charge("n:a", null, 30)).toBe(70);
    expect(store.summary(10).networks).toEqual([{ key: "a", day_s: 70, week_s: 270, month_s: 570 }]);
    expect(store.retryAfter("n:a", null)).toBe(0);
  });

  it("refuses once a bucket is spent, with the time until it is positive again", () => {
    store.charge("n:a", null, 60);
    store.charge("n:a", null, 60); // allowed in (budget was 40 > 0), charged in full: day = -20
    // Day bucket refills 100 s per 86400 s: 20 s of debt takes 17280 s (+1 to be strictly positive).
    expect(store.retryAfter("n:a", null)).toBe(17_281);
    now += 17_280_000;
    expect(store.retryAfter("n:a", null)).toBe(1);
    now += 1_000;
    expect(store.retryAfter("n:a", null)).toBe(0);
  });

  it("refills continuously up to the limit, never beyond", () => {
    store.charge("n:a", null, 50);
    now += DAY / 2;
    expect(store.summary(1).networks[0]!.day_s).toBe(100); // 50 + 50
    now += 30 * DAY;
    expect(store.summary(1).networks[0]).toEqual({ key: "a", day_s: 100, week_s: 300, month_s: 600 });
  });

  it("the weekly and monthly budgets bind when the daily one refills", () => {
    // 3 days at 100 s/day: the week's 300 s are gone even though each day's budget came back.
    for (let d = 0; d < 3; d++) {
      store.charge("n:a", null, 100);
      now += DAY;
    }
    const s = store.summary(1).networks[0]!;
    expect(s.day_s).toBe(100);
    expect(s.week_s).toBeCloseTo(300 - 300 + (3 * 300) / 7, 3);
    // Now 200 s: day → -100 (repaid in a day), week → -71.4 (repaid in 144000 s): the week decides.
    store.charge("n:a", null, 200);
    const wait = store.retryAfter("n:a", null);
    expect(wait).toBeGreaterThan(86_401);
    expect(wait).toBeLessThanOrEqual(144_001);
  });

  it("network and account keys have their own budgets; either exhausted refuses", () => {
    store.charge("n:a", "a:acc", 11);
    expect(store.retryAfter("n:b", null)).toBe(0);
    expect(store.retryAfter("n:b", "a:acc")).toBeGreaterThan(0); // account spent (limit 10)
    expect(store.retryAfter("n:a", null)).toBe(0); // network still has 89 s
    const s = store.summary(10);
    expect(s.accounts).toEqual([{ key: "acc", day_s: -1, week_s: 0, month_s: 0 }]);
    expect(s.networks).toEqual([{ key: "a", day_s: 89, week_s: 289, month_s: 589 }]);
  });

  it("debt is capped at minus the limit", () => {
    store.charge("n:a", null, 10_000);
    expect(store.summary(1).networks[0]).toEqual({ key: "a", day_s: -100, week_s: -300, month_s: -600 });
  });

  it("summary lists the lowest daily budgets first, up to the limit", () => {
    store.charge("n:x", null, 5);
    store.charge("n:y", null, 50);
    store.charge("n:z", null, 20);
    expect(store.summary(2).networks.map((e) => e.key)).toEqual(["y", "z"]);
  });

  it("sweep drops only keys that have refilled completely", () => {
    store.charge("n:old", null, 1);
    now += 31 * DAY;
    store.charge("n:new", null, 1);
    expect(store.sweep()).toBe(1);
    expect(store.summary(10).networks.map((e) => e.key)).toEqual(["new"]);
  });

  it("persists across reopening", async () => {
    store.charge("n:a", null, 42);
    await store.close();
    store = new QuotaStore({ dir, network: net, account: acct, now: () => now });
    expect(store.summary(1).networks[0]!.day_s).toBe(58);
  });
});

interface Worker {
  ready: Promise<void>;
  go(): void;
  done: Promise<void>;
}

function startWorker(count: number): Worker {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "fixtures/charge-worker.ts"), dir, String(count), "n:shared"], {
    cwd: repoRoot,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const ready = new Promise<void>((resolve) => child.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve()));
  const done = new Promise<void>((resolve, reject) =>
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`worker exited ${code}: ${err}`)))),
  );
  return { ready, done, go: () => child.stdin!.write("go\n") };
}

describe("QuotaStore across processes", () => {
  it("two processes charging one key concurrently lose no charge", async () => {
    const workers = [startWorker(20_000), startWorker(20_000)];
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.go();
    await Promise.all(workers.map((w) => w.done));
    const huge = { daySeconds: 1e9, weekSeconds: 1e9, monthSeconds: 1e9 };
    const reader = new QuotaStore({ dir, network: huge, account: huge, now: () => 1_800_000_000_000 });
    try {
      expect(reader.summary(1).networks[0]!.day_s).toBe(1e9 - 40_000);
    } finally {
      await reader.close();
    }
  });
});
