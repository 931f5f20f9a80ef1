import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { SignJWT } from "jose";
import { SMTPServer } from "smtp-server";
import { openDatabase, queryRows } from "../../../origin/src/db/clickhouse";

// Helpers shared by the account and quota tests: a real SMTP server on loopback, reading login
// links out of raw messages, minting tokens with a known secret (to forge them on purpose), and
// scanning everything the origin persisted or logged for an email address.

export const JWT_SECRET = "test-jwt-secret-0123456789abcdef0123456789";

/** Decodes the quoted-printable text/plain part of a raw message and returns the login link. */
export function loginLinkFrom(raw: string): URL {
  const unfolded = raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  const m = /https?:\/\/[^\s"<>]+\/login\?token=[A-Za-z0-9._-]+/.exec(unfolded);
  if (!m) throw new Error(`no login link in message:\n${raw}`);
  return new URL(m[0]);
}

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

export interface SmtpSink {
  port: number;
  messages: ReceivedMail[];
  /** Resolves with the next message delivered (or one already waiting). */
  next(): Promise<ReceivedMail>;
  close(): Promise<void>;
}

/** An SMTP server on 127.0.0.1 (no TLS, no auth) that keeps every message; refuses *@refused.test. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  let taken = 0;
  const waiters: ((m: ReceivedMail) => void)[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onRcptTo(address, _session, cb) {
      if (address.address.endsWith("@refused.test")) {
        const err = Object.assign(new Error("mailbox unavailable"), { responseCode: 550 });
        return cb(err);
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const mail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
        };
        messages.push(mail);
        const w = waiters.shift();
        if (w) {
          taken++;
          w(mail);
        }
        cb();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.server.address() as { port: number }).port;
  return {
    port,
    messages,
    next() {
      if (taken < messages.length) return Promise.resolve(messages[taken++]!);
      return new Promise((resolve) => waiters.push(resolve));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface MintOptions {
  secret?: string;
  alg?: "HS256" | "HS384" | "HS512";
  aud?: string;
  accountId?: string;
  role?: string;
  iat?: number;
  nbf?: number;
  exp?: number;
  loginTime?: number;
  omit?: string[];
  /** More claims (e.g. a login link's redirect_to and jti). */
  extra?: Record<string, unknown>;
}

/** Signs a session-shaped token the way a forger (or the origin itself) would. */
export async function mintToken(o: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    account_id: o.accountId ?? "0123456789abcdef0123456789abcdef",
    role: o.role ?? "user",
    login_time: o.loginTime ?? now,
    aud: o.aud ?? "user_auth",
    iat: o.iat ?? now,
    nbf: o.nbf ?? now,
    exp: o.exp ?? now + 3600,
    ...o.extra,
  };
  for (const k of o.omit ?? []) delete claims[k];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: o.alg ?? "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(o.secret ?? JWT_SECRET));
}

export function b64url(s: string): string {
  return Buffer.from(s).toString("base64url");
}

export function decodeClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
}

/** Every spelling of an address that could leak: as typed, canonical, and URL-encoded. */
function spellings(emails: string[]): string[] {
  const out = new Set<string>();
  for (const e of emails) {
    for (const v of [e, e.toLowerCase()]) {
      out.add(v);
      out.add(encodeURIComponent(v));
    }
  }
  return [...out];
}

export interface LeakReport {
  tables: string[];
  logs: string[];
  files: string[];
  /** Positive control: rows of the scanned tables that contain `control` (proves the scan reads data). */
  controlHits: string[];
  scannedColumns: number;
}

/**
 * Looks for the addresses in every String-typed column of every table (embedded chDB of a stopped
 * origin), in log lines, and in every file under dataDir except `exceptDirs`.
 */
export async function scanForEmails(opts: {
  dataDir: string;
  logs: string[];
  emails: string[];
  control: string;
  exceptDirs?: string[];
}): Promise<LeakReport> {
  const needles = spellings(opts.emails);
  const report: LeakReport = { tables: [], logs: [], files: [], controlHits: [], scannedColumns: 0 };

  const db = openDatabase({ kind: "embedded", path: path.join(opts.dataDir, "clickhouse"), database: "default", queryTimeoutS: 30 });
  try {
    const columns = await queryRows<{ table: string; name: string; type: string }>(
      db,
      `SELECT c.table AS table, c.name AS name, c.type AS type FROM system.columns AS c
       INNER JOIN system.tables AS t ON t.database = c.database AND t.name = c.table
       WHERE c.database = currentDatabase() AND t.engine NOT IN ('MaterializedView', 'View')
         AND c.type LIKE '%String%'`,
    );
    for (const col of columns) {
      report.scannedColumns++;
      for (const needle of [...needles, opts.control]) {
        const rows = await queryRows<{ n: number }>(
          db,
          "SELECT count() AS n FROM {t:Identifier} WHERE positionCaseInsensitive(toString({c:Identifier}), {needle:String}) > 0",
          { t: col.table, c: col.name, needle },
        );
        if (Number(rows[0]?.n ?? 0) > 0) (needle === opts.control ? report.controlHits : report.tables).push(`${col.table}.${col.name}`);
      }
    }
  } finally {
    await db.close();
  }

  for (const line of opts.logs) {
    const lower = line.toLowerCase();
    if (needles.some((n) => lower.includes(n.toLowerCase()))) report.logs.push(line);
  }

  const skip = new Set((opts.exceptDirs ?? []).map((d) => path.resolve(d)));
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (skip.has(path.resolve(p))) continue;
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) {
        const bytes = readFileSync(p);
        if (needles.some((n) => bytes.includes(n) || bytes.includes(Buffer.from(n, "utf16le")))) report.files.push(p);
      }
    }
  };
  walk(opts.dataDir);
  return report;
}
