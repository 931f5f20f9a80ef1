import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AccountIdHasher, EmailAddress } from "../../../origin/src/auth/account-id";
import { loadOrCreateSecret } from "../../../origin/src/secrets";
import { redactPath } from "../../../origin/src/auth/redact";
import { ConfigError, loadConfig } from "../../../origin/src/config";

// The small pieces of accounts: the account-id hash (checked against Python's hashlib, which the
// upstream API uses), addresses, generated secrets, log redaction and configuration checks.

describe("account ids", () => {
  it("are keyed BLAKE2b-128 hex, identical to Python's hashlib.blake2b(..., key=, digest_size=16)", () => {
    // python3 -c 'import hashlib;print(hashlib.blake2b(b"a@b.org",key=b"k",digest_size=16).hexdigest())'
    expect(new AccountIdHasher("k").accountId("a@b.org")).toBe("205864dcb70680fb69dba278b8ceb7fa");
  });

  it("depend on the key", () => {
    expect(new AccountIdHasher("k2").accountId("a@b.org")).not.toBe("205864dcb70680fb69dba278b8ceb7fa");
  });

  it("addresses are trimmed and lowercased before hashing; junk is refused without echoing it", () => {
    expect(EmailAddress.parse("  Alice@Example.ORG ")).toBe("alice@example.org");
    const bad = EmailAddress.safeParse("not-an-address");
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues.map((i) => i.message))).not.toContain("not-an-address");
  });
});

describe("generated secrets", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), "secrets-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("the hashing key is created once (0600) next to the JWT secret, then read back", async () => {
    const a = await loadOrCreateSecret(dir, "account_id_hashing_key");
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    // 64 hex characters = 64 bytes: the largest key BLAKE2b takes.
    expect(() => new AccountIdHasher(a)).not.toThrow();
    expect(await loadOrCreateSecret(dir, "account_id_hashing_key")).toBe(a);
    const file = path.join(dir, "secrets/account_id_hashing_key");
    expect(readFileSync(file, "utf8").trim()).toBe(a);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateSecret(dir, "jwt_secret")).not.toBe(a);
  });
});

describe("redactPath", () => {
  it("hides path segments holding an address, raw or percent-encoded", () => {
    expect(redactPath("/api/v1/get_account_role/a@b.org")).toBe("/api/v1/get_account_role/[redacted]");
    expect(redactPath("/api/v1/get_account_role/a%40b.org")).toBe("/api/v1/get_account_role/[redacted]");
    expect(redactPath("/api/v1/get_account_role/A%40B.ORG/x")).toBe("/api/v1/get_account_role/[redacted]/x");
    const plain = "/api/v1/measurements";
    expect(redactPath(plain)).toBe(plain);
  });
});

describe("configuration", () => {
  const base = { DATA_DIR: "/tmp/ooni-edge-config-test" };
  const fails = (env: Record<string, string>) => {
    try {
      loadConfig({ ...base, ...env });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).message;
    }
    throw new Error("expected a ConfigError");
  };

  it("has working defaults", () => {
    const c = loadConfig(base);
    expect(c.accounts.redirectOrigins).toContain("https://explorer.ooni.org");
    expect(c.accounts.sessionExpiryS).toBe(10 * 86_400);
    expect(c.mail.smtp).toBeNull();
    expect(c.mail.outboxDir).toBe("/tmp/ooni-edge-config-test/outbox");
    expect(c.quotas.dir).toBe("/tmp/ooni-edge-config-test/quotas");
    expect(c.quotas.network).toEqual({ daySeconds: 4000, weekSeconds: 20000, monthSeconds: 60000 });
    expect(c.quotas.exemptPaths).toContain("/api/v1/submit_measurement");
  });

  it("parses lists and canonicalises", () => {
    const c = loadConfig({ ...base, ADMIN_EMAILS: " Root@Example.org , b@c.de", LOGIN_REDIRECT_ORIGINS: "explorer.example.org,http://localhost:3000" });
    expect(c.accounts.adminEmails).toEqual(["root@example.org", "b@c.de"]);
    expect(c.accounts.redirectOrigins).toEqual(["https://explorer.example.org", "http://localhost:3000"]);
  });

  it("refuses bad values naming the setting, never echoing addresses or keys", () => {
    const m1 = fails({ ADMIN_EMAILS: "root@example.org,oops" });
    expect(m1).toContain("ADMIN_EMAILS");
    expect(m1).not.toContain("root@example.org");
    const m2 = fails({ ACCOUNT_ID_HASHING_KEY: "short-key" });
    expect(m2).toContain("ACCOUNT_ID_HASHING_KEY");
    expect(m2).not.toContain("short-key");
    expect(fails({ ACCOUNT_ID_HASHING_KEY: "x".repeat(65) })).toContain("ACCOUNT_ID_HASHING_KEY");
    expect(fails({ LOGIN_REDIRECT_ORIGINS: "http://explorer.ooni.org" })).toContain("LOGIN_REDIRECT_ORIGINS");
    expect(fails({ LOGIN_REDIRECT_ORIGINS: "https://explorer.ooni.org/path" })).toContain("LOGIN_REDIRECT_ORIGINS");
    expect(fails({ QUOTA_ALLOWLIST: "10.0.0.0/33" })).toContain("QUOTA_ALLOWLIST");
    expect(fails({ QUOTA_IPV4_PREFIX: "0" })).toContain("QUOTA_IPV4_PREFIX");
    expect(fails({ QUOTA_EXEMPT_PATHS: "health" })).toContain("QUOTA_EXEMPT_PATHS");
    expect(fails({ SMTP_SECURE: "maybe" })).toContain("SMTP_SECURE");
  });
});
