import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { decodeJwt, SignJWT } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { loadOrCreateSecret } from "../../../origin/src/secrets";
import { ProbeTokens, TokenError } from "../../../origin/src/probe/tokens";
import { repoRoot } from "../../support/origin-process";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), "secrets-"));
  dirs.push(d);
  return d;
};

describe("JWT secret", () => {
  it("is generated once into $DATA_DIR/secrets/jwt_secret with mode 0600 and then reused", async () => {
    const dataDir = tmp();
    const a = await loadOrCreateSecret(dataDir, "jwt_secret");
    const file = path.join(dataDir, "secrets", "jwt_secret");
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o077).toBe(0);
    expect(await loadOrCreateSecret(dataDir, "jwt_secret")).toBe(a);
  });

  it("ends up identical when several processes create it at the same moment", { timeout: 120_000 }, async () => {
    const dataDir = tmp();
    const script = `import { loadOrCreateSecret } from ${JSON.stringify(path.join(repoRoot, "origin/src/secrets.ts"))};
      process.stdout.write(await loadOrCreateSecret(process.argv[1], "jwt_secret"));`;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, dataDir], { cwd: repoRoot });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
      });
    const results = await Promise.all([run(), run(), run(), run()]);
    expect(new Set(results).size).toBe(1);
    expect(readFileSync(path.join(dataDir, "secrets", "jwt_secret"), "utf8").trim()).toBe(results[0]);
  });
});

describe("probe tokens", () => {
  const tokens = new ProbeTokens("a".repeat(40));

  it("register gives a client_id JWT with aud probe_login and iat at the start of next month", async () => {
    const id = await tokens.register(new Date("2024-02-14T09:06:17Z"));
    expect(decodeJwt(id)).toEqual({ aud: "probe_login", iat: Date.UTC(2024, 2, 1) / 1000 });
    // Same month, same client_id: it does not single out one probe.
    expect(await tokens.register(new Date("2024-02-28T23:59:59Z"))).toBe(id);
  });

  it("login turns a client_id into a 7-day probe_token the bearer check accepts", async () => {
    const now = new Date("2030-01-01T00:00:00.500Z");
    const { token, expire, legacy } = await tokens.login(await tokens.register(now), now);
    expect(legacy).toBe(false);
    expect(expire).toBe("2030-01-08T00:00:00Z");
    expect(decodeJwt(token)).toMatchObject({ aud: "probe_token", registration_time: Date.UTC(2030, 1, 1) / 1000 });
    await expect(tokens.verifyBearer(`Bearer ${(await tokens.login(await tokens.register())).token}`)).resolves.toBeUndefined();
  });

  it("accepts legacy (non-JWT) usernames, as the legacy API did", async () => {
    const { token, legacy } = await tokens.login("some-orchestra-client-id");
    expect(legacy).toBe(true);
    expect(decodeJwt(token).registration_time).toBeNull();
  });

  it("refuses forged, foreign and misused JWTs", async () => {
    const other = new ProbeTokens("b".repeat(40));
    await expect(tokens.login(await other.register())).rejects.toThrow(TokenError); // wrong key
    const { token } = await tokens.login(await tokens.register());
    await expect(tokens.login(token)).rejects.toThrow(TokenError); // a probe_token is not a client_id
    await expect(tokens.verifyBearer(`Bearer ${await tokens.register()}`)).rejects.toThrow(TokenError); // nor the reverse
    await expect(tokens.verifyBearer(`Bearer ${(await other.login(await other.register())).token}`)).rejects.toThrow(TokenError);
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from('{"aud":"probe_token"}').toString("base64url")}.`;
    await expect(tokens.verifyBearer(`Bearer ${none}`)).rejects.toThrow(TokenError);
    const expired = await new SignJWT({ aud: "probe_token" })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(new TextEncoder().encode("a".repeat(40)));
    await expect(tokens.verifyBearer(`Bearer ${expired}`)).rejects.toThrow(TokenError);
    for (const h of [undefined, "", "Bearer", "Basic abc", `bearer ${token}`, `Bearer ${token} x`]) {
      await expect(tokens.verifyBearer(h)).rejects.toThrow(TokenError);
    }
  });
});
