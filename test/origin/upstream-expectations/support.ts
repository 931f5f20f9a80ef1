import { readdirSync, readFileSync } from "node:fs";
import { expect } from "vitest";
import path from "node:path";
import { loginLinkFrom } from "../auth/support";
import { call, type CallOptions, type Reply } from "../oonirun/support";
import { startInProcessOrigin, type InProcessOrigin } from "../stats/in-process";

// What ooni/backend's pytest suites expect, asked of our origin (the real app and services in this
// process, embedded chDB on a temp directory). Each upstream test becomes one `it` named after it;
// where upstream's FastAPI answers 422 for a validation error we answer 400 (the house error shape,
// {"error": ...}): that adaptation is marked `// 422 → 400` and is not a behaviour change. Every
// other difference is in docs/compat.md and marked `// deviation:` here.

export interface Upstream {
  origin: InProcessOrigin;
  req(method: string, p: string, o?: CallOptions): Promise<Reply>;
  /** Logs `email` in through the emailed link; returns the user_login answer (bearer, redirect_to, email_address). */
  login(email: string, redirectTo?: string): Promise<{ bearer: string; redirect_to: string; email_address: string; token: string }>;
  close(): Promise<void>;
}

export async function startUpstream(env: Record<string, string> = {}): Promise<Upstream> {
  const origin = await startInProcessOrigin({ FASTPATH_ENABLED: "false", ...env });
  const f = async (p: string, init?: RequestInit) => origin.app.request(p, init);
  const outbox = origin.services.config.mail.outboxDir;
  const eml = () => {
    try {
      return readdirSync(outbox).filter((x) => x.endsWith(".eml")).sort();
    } catch {
      return [];
    }
  };
  const req = (method: string, p: string, o?: CallOptions) => call(f, method, p, o);
  return {
    origin,
    req,
    async login(email, redirectTo = "https://explorer.ooni.org/") {
      const before = new Set(eml());
      const r = await req("POST", "/api/v1/user_register", { body: { email_address: email, redirect_to: redirectTo } });
      expect(r.status, r.text).toBe(200);
      expect(r.json).toEqual({ msg: "ok" });
      const added = eml().filter((x) => !before.has(x));
      expect(added).toHaveLength(1);
      const token = loginLinkFrom(readFileSync(path.join(outbox, added[0]!), "utf8")).searchParams.get("token")!;
      const l = await req("GET", `/api/v1/user_login?k=${encodeURIComponent(token)}`);
      expect(l.status, l.text).toBe(200);
      return { ...(l.json as { bearer: string; redirect_to: string; email_address: string }), token };
    },
    close: () => origin.close(),
  };
}

let n = 0;
/** A fresh address per test, so "my links / my findings" lists hold exactly what the test made. */
export const freshEmail = (tag: string) => `${tag}-${process.pid}-${++n}@example.com`;
