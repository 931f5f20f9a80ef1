import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../origin/src/config";

describe("fastpath settings", () => {
  it("defaults", () => {
    const c = loadConfig({ DATA_DIR: "/tmp/x" }).fastpath;
    expect(c).toEqual({
      enabled: true,
      workers: Math.max(1, availableParallelism() - 1),
      batchRows: 1000,
      flushMs: 500,
      maxPending: 20_000,
      fingerprintsPollMs: 30_000,
      rescanMs: 300_000,
      matching: "fastpath",
      faultClickhouseDownFile: null,
    });
  });

  it("reads every setting", () => {
    const c = loadConfig({
      FASTPATH_ENABLED: "false",
      FASTPATH_WORKERS: "3",
      FASTPATH_BATCH_ROWS: "50",
      FASTPATH_FLUSH_MS: "1000",
      FASTPATH_MAX_PENDING: "500",
      FASTPATH_FINGERPRINTS_POLL_S: "0.5",
      FASTPATH_RESCAN_S: "0",
      FASTPATH_FINGERPRINT_MATCHING: "strict",
      FASTPATH_TEST_FAULT_CLICKHOUSE_DOWN_FILE: "/tmp/down",
    }).fastpath;
    expect(c).toEqual({
      enabled: false,
      workers: 3,
      batchRows: 50,
      flushMs: 1000,
      maxPending: 500,
      fingerprintsPollMs: 500,
      rescanMs: 0,
      matching: "strict",
      faultClickhouseDownFile: "/tmp/down",
    });
  });

  it.each([
    ["FASTPATH_FLUSH_MS", "2000"],
    ["FASTPATH_WORKERS", "0"],
    ["FASTPATH_FINGERPRINT_MATCHING", "loose"],
    ["FASTPATH_ENABLED", "maybe"],
  ])("refuses %s=%s, naming it", (setting, value) => {
    expect(() => loadConfig({ [setting]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [setting]: value })).toThrow(new RegExp(`^configuration error: ${setting} `));
  });
});
