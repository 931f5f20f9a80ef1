import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../origin/src/config";
import { repoRoot } from "../support/origin-process";

describe("configuration", () => {
  it("has working defaults with an empty environment", () => {
    const c = loadConfig({});
    expect(c.origin.port).toBe(8788);
    expect(c.edgePort).toBe(8787);
    expect(c.dataDir).toBe(path.resolve("./data"));
    expect(c.clickhouse).toEqual({ kind: "embedded", path: path.resolve("./data/clickhouse"), database: "default", queryTimeoutS: 28 });
    expect(c.blobStore).toEqual({ kind: "local", dir: path.resolve("./data/blobs") });
    expect(c.edgeSharedSecret).toBeNull();
    expect(c.collectorId).toBe("1");
    expect(c.spoolMinFreeBytes).toBe(256 * 1024 * 1024);
  });

  it("takes the spool's free-space reserve in bytes, 0 switching the check off", () => {
    expect(loadConfig({ SPOOL_MIN_FREE_BYTES: "1048576" }).spoolMinFreeBytes).toBe(1048576);
    expect(loadConfig({ SPOOL_MIN_FREE_BYTES: "0" }).spoolMinFreeBytes).toBe(0);
  });

  it("uses a ClickHouse server when CLICKHOUSE_URL is set", () => {
    const c = loadConfig({ CLICKHOUSE_URL: "http://ch.internal:8123", CLICKHOUSE_USER: "u" });
    expect(c.clickhouse).toMatchObject({ kind: "server", url: "http://ch.internal:8123", username: "u" });
  });

  it("parses an s3:// blob store and requires its settings", () => {
    expect(() => loadConfig({ BLOB_STORE: "s3://bucket/some/prefix/" })).toThrow(/S3_ENDPOINT/);
    const c = loadConfig({
      BLOB_STORE: "s3://ooni-data/archive/",
      S3_ENDPOINT: "http://127.0.0.1:9000",
      S3_ACCESS_KEY_ID: "id",
      S3_SECRET_ACCESS_KEY: "secret",
      S3_FORCE_PATH_STYLE: "true",
    });
    expect(c.blobStore).toMatchObject({ kind: "s3", bucket: "ooni-data", prefix: "archive", forcePathStyle: true });
  });

  it.each([
    ["CLICKHOUSE_URL", "not a url"],
    ["CLICKHOUSE_URL", "ftp://x"],
    ["ORIGIN_PORT", "99999"],
    ["ORIGIN_PORT", "eight"],
    ["EDGE_SHARED_SECRET", "short"],
    ["S3_FORCE_PATH_STYLE", "maybe"],
    ["LOG_LEVEL", "loud"],
    ["COLLECTOR_ID", "n1"],
    ["BLOB_STORE", "gs://bucket"],
    ["SPOOL_MIN_FREE_BYTES", "-1"],
    ["SPOOL_MIN_FREE_BYTES", "256MiB"],
  ])("rejects %s=%j naming the setting", (setting, value) => {
    let err: unknown;
    try {
      loadConfig({ [setting]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).setting).toBe(setting);
    expect((err as Error).message).toContain(setting);
    expect((err as Error).message).not.toContain("\n");
  });

  it("never echoes secret values in errors", () => {
    expect(() => loadConfig({ JWT_SECRET: "too-short-secret" })).toThrow(ConfigError);
    try {
      loadConfig({ JWT_SECRET: "too-short-secret" });
    } catch (e) {
      expect((e as Error).message).not.toContain("too-short-secret");
    }
  });

  it("stops start-up with one clear line and a non-zero exit for bad configuration", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "origin/src/cli.ts", "serve"], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, CLICKHOUSE_URL: "not a url", DATA_DIR: "/nonexistent-should-not-be-created" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(r.status).not.toBe(0);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/CLICKHOUSE_URL/);
  });
});
