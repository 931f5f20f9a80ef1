import { createHmac, createSign, generateKeyPairSync } from "node:crypto";

// Hand-made JWTs, so a test can produce exactly the malformed or mis-signed token it wants
// (libraries refuse to sign with "none" or an empty key, which is the point of those attacks).

const b64 = (x: unknown) => Buffer.from(typeof x === "string" ? x : JSON.stringify(x)).toString("base64url");

export function hs(alg: "HS256" | "HS384" | "HS512", key: string | Buffer, header: object, payload: object): string {
  const h = { alg, typ: "JWT", ...header };
  const input = `${b64(h)}.${b64(payload)}`;
  const hash = { HS256: "sha256", HS384: "sha384", HS512: "sha512" }[alg];
  return `${input}.${createHmac(hash, key).update(input).digest("base64url")}`;
}

export function unsigned(header: object, payload: object, sig = ""): string {
  return `${b64(header)}.${b64(payload)}.${sig}`;
}

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
export const RSA_PUBLIC_PEM = rsa.publicKey.export({ type: "spki", format: "pem" }).toString();
export const RSA_PUBLIC_JWK = rsa.publicKey.export({ format: "jwk" });

export function rs256(header: object, payload: object): string {
  const input = `${b64({ alg: "RS256", typ: "JWT", ...header })}.${b64(payload)}`;
  return `${input}.${createSign("RSA-SHA256").update(input).sign(rsa.privateKey).toString("base64url")}`;
}

export const nowS = () => Math.floor(Date.now() / 1000);

/** Claims of a valid session (what the origin itself signs), for the given account and role. */
export function sessionClaims(accountId: string, role: "user" | "admin", over: Record<string, unknown> = {}) {
  const now = nowS();
  return { account_id: accountId, login_time: now, role, aud: "user_auth", iat: now, nbf: now, exp: now + 3600, ...over };
}

export function decode(token: string): { header: Record<string, unknown>; payload: Record<string, unknown>; sig: string } {
  const [h, p, s] = token.split(".");
  return { header: JSON.parse(Buffer.from(h!, "base64url").toString()), payload: JSON.parse(Buffer.from(p!, "base64url").toString()), sig: s ?? "" };
}

/** The same token with another payload and the original signature. */
export function withPayload(token: string, payload: object): string {
  const [h, , s] = token.split(".");
  return `${h}.${b64(payload)}.${s}`;
}
