import { createHash } from "node:crypto";
import { z } from "zod";
import type { Logger } from "../logger";
import { metrics } from "../metrics/registry";
import { currentKey, keyVersion, mtimeOf, parseKeyRing, readKeyRingFile, withNewVersion, writeKeyRingFile, type KeyRing, type KeyVersion } from "./keys";
import { AnonCredError, AnonCredUnavailable, WorkerPool, type ProtocolErrorKind } from "./pool";
import { rangesFor, type PolicyEntry, type SubmissionPolicy } from "./policy";
import type { AnonCredConfig } from "./settings";
import { verificationCodeOf, type VerificationCode, type VerificationStatus } from "./status";

// The anonymous-credentials server: the manifest's public parameters, registration
// (sign_credential), verification of a submission's proof, and credential update across a key
// rotation. The cryptography is ooniauth-py's, run in WorkerPool; this module decides which keys,
// which policy and what a failure means. Verification never refuses a measurement: it only yields
// the status stored with it (docs/anonymous-credentials.md).

export const INSTALL_HINT =
  "install ooniauth-py: `npm run anoncred:install` (python3 -m venv ~/.cache/ooni-edge/anoncred-venv && " +
  "~/.cache/ooni-edge/anoncred-venv/bin/pip install ooniauth-py==0.3.3), or set ANONC_PYTHON to a Python that has it";

/** An error the protocol answers with a 4xx (upstream's codes and statuses). */
export class AnonCredHttpError extends Error {
  override readonly name = "AnonCredHttpError";
  constructor(
    readonly status: 400 | 403 | 404 | 503,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

const ERROR_CODES: Record<ProtocolErrorKind, string> = {
  DeserializationFailed: "deserialization_failed",
  ProtocolError: "protocol_error",
  CredentialError: "credential_error",
};

function toHttp(err: unknown): never {
  if (err instanceof AnonCredError) {
    // Upstream: a payload that does not decode is the client's syntax (400); a proof that does not
    // hold is refused (403).
    throw new AnonCredHttpError(err.kind === "DeserializationFailed" ? 400 : 403, ERROR_CODES[err.kind], err.message);
  }
  if (err instanceof AnonCredUnavailable) throw new AnonCredHttpError(503, "credentials_unavailable", "the credential service could not answer; try again later");
  throw err;
}

function manifestNotFound(version: string): AnonCredHttpError {
  return new AnonCredHttpError(404, "manifest_not_found", `No manifest with version '${version.slice(0, 40)}' was found`);
}

function versionTuple(v: string): number[] | null {
  return /^\d{1,6}(\.\d{1,6}){0,5}$/.test(v) ? v.split(".").map(Number) : null;
}

function olderThan(a: number[], b: number[]): boolean {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}

/** The credential fields of a submission, as read (loosely) from its envelope. */
export interface SubmissionCredentials {
  nym?: unknown;
  zkp_request?: unknown;
  manifest_version?: unknown;
  protocol_version?: unknown;
}

export interface Verification {
  status: VerificationStatus;
  code: VerificationCode;
  /** Why it is not verified (upstream's codes), or null. */
  error: string | null;
  /** The server's half of the credential update, for the probe; null unless verified. */
  submitResponse: string | null;
}

const unverified = (error: string | null): Verification => ({ status: "unverified", code: "u", error, submitResponse: null });
const failed = (error: string): Verification => ({ status: "failed", code: "f", error, submitResponse: null });

const B64ISH = z.string().min(1).max(64 * 1024);

/**
 * Proofs already accepted by this process, so the same proof cannot vouch for a second copy of
 * its measurement. Bounded (oldest forgotten first); per process: origin hosts do not share it
 * (docs/anonymous-credentials.md).
 */
class SpentProofs {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}
  static digest(nym: string, request: string): string {
    return createHash("sha256").update(nym).update("\n").update(request).digest("base64");
  }
  /** False when already spent; otherwise marks it spent. */
  spend(d: string): boolean {
    if (this.seen.has(d)) return false;
    this.seen.add(d);
    if (this.seen.size > this.max) this.seen.delete(this.seen.values().next().value!);
    return true;
  }
  release(d: string): void {
    this.seen.delete(d);
  }
}

export class AnonCredService {
  readonly spent = new SpentProofs(200_000);
  private ringValue: KeyRing;
  private ringMtime: number | null;
  private checkedAt = Date.now();
  private checking = false;

  private constructor(
    private readonly config: AnonCredConfig,
    private readonly pool: WorkerPool,
    ring: KeyRing,
    ringMtime: number | null,
    readonly libraryVersion: string,
    readonly protocolVersion: string,
    private readonly log: Logger,
  ) {
    this.ringValue = ring;
    this.ringMtime = ringMtime;
  }

  /**
   * Starts the workers and loads (or, the first time, generates) the key ring. Returns a reason
   * instead when credentials are off: by setting, or in auto mode because ooniauth-py is missing.
   * With ANONC_ENABLED=true a missing library or a bad key ring stops the origin.
   */
  static async open(config: AnonCredConfig, log: Logger): Promise<AnonCredService | { off: string }> {
    if (config.mode === "off") return { off: "ANONC_ENABLED=false" };
    const fail = (reason: string): { off: string } => {
      if (config.mode === "on") throw new Error(`anonymous credentials: ${reason}; ${INSTALL_HINT}`);
      return { off: reason };
    };
    if (!config.python) return fail("ooniauth-py not found");
    const pool = new WorkerPool({
      python: config.python,
      size: config.workers,
      timeoutMs: config.timeoutMs,
      onWorkerExit: (code, stderr) => log.warn({ code, stderr: stderr.slice(-500) }, "credential worker exited; restarting it"),
    });
    let hello: { library_version: string; protocol_version: string };
    try {
      hello = await pool.call("hello");
    } catch (err) {
      await pool.close();
      return fail(`ooniauth-py cannot be loaded with ${config.python} (${(err as Error).message.slice(0, 300)})`);
    }
    try {
      const { ring, mtime } = await loadOrCreateRing(config, pool);
      return new AnonCredService(config, pool, ring, mtime, hello.library_version, hello.protocol_version, log);
    } catch (err) {
      await pool.close();
      throw err;
    }
  }

  /** The current ring; re-reads the file (at most every 5 s, off the request path) after a rotation. */
  ring(): KeyRing {
    if (!this.config.keysSecret && !this.checking && Date.now() - this.checkedAt > 5_000) void this.recheck();
    return this.ringValue;
  }

  async recheck(): Promise<void> {
    if (this.config.keysSecret) return;
    this.checking = true;
    this.checkedAt = Date.now();
    try {
      const m = await mtimeOf(this.config.keysFile);
      if (m === null || m === this.ringMtime) return;
      const ring = await readKeyRingFile(this.config.keysFile);
      if (ring) {
        const before = currentKey(this.ringValue).version;
        this.ringValue = ring;
        this.ringMtime = m;
        if (currentKey(ring).version !== before) this.log.info({ version: currentKey(ring).version }, "anonymous-credentials keys rotated");
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "anonymous-credentials key ring changed but cannot be read: keeping the previous one");
    } finally {
      this.checking = false;
    }
  }

  /** GET /api/v1/manifest, upstream's shape. */
  manifest(policy: SubmissionPolicy, baseUrl: string | null) {
    const key = currentKey(this.ring());
    return {
      manifest: { nym_scope: policy.nym_scope, submission_policy: policy.submission_policy, public_parameters: key.public_parameters },
      meta: {
        version: key.version,
        last_modification_date: key.created,
        manifest_url: baseUrl ? `${baseUrl}/api/v1/manifest` : "",
        library_version: this.libraryVersion,
        protocol_version: this.protocolVersion,
      },
    };
  }

  private current(version: string): KeyVersion {
    const key = currentKey(this.ring());
    if (version !== key.version) throw manifestNotFound(version);
    return key;
  }

  /** POST /api/v1/sign_credential. Throws AnonCredHttpError. */
  async register(manifestVersion: string, request: string): Promise<{ credential_sign_response: string; emission_day: number }> {
    const key = this.current(manifestVersion);
    try {
      const r = await this.timed("register", () =>
        this.pool.call<{ response: string; emission_day: number }>("register", { pp: key.public_parameters, sk: key.secret_key, request }),
      );
      return { credential_sign_response: r.response, emission_day: r.emission_day };
    } catch (err) {
      return toHttp(err);
    }
  }

  /** POST /api/v1/update_credential: re-issue a credential of an older key version under the current one. */
  async update(oldVersion: string, manifestVersion: string, request: string): Promise<{ update_response: string }> {
    const key = this.current(manifestVersion);
    const old = keyVersion(this.ring(), oldVersion);
    if (!old) throw manifestNotFound(oldVersion);
    try {
      const r = await this.timed("update", () => this.pool.call<string>("update", {
        pp: key.public_parameters,
        sk: key.secret_key,
        old_pp: old.public_parameters,
        old_sk: old.secret_key,
        request,
      }));
      return { update_response: r };
    } catch (err) {
      return toHttp(err);
    }
  }

  /**
   * The proof of a submission, against this measurement's exact text (its hash), probe_cc and
   * probe_asn, under the current keys and the policy entry for that network. Never throws.
   */
  async verify(fields: SubmissionCredentials, contentText: string | null, cc: string, asn: string, policy: PolicyEntry[]): Promise<Verification> {
    const v = await verifySubmission(this, fields, contentText, cc, asn, policy);
    if (v.status !== "unverified" || v.error !== null) metrics.observeVerification(v.status, v.error);
    return v;
  }

  /** For verifySubmission: the proof check itself. */
  async check(key: KeyVersion, nym: string, request: string, cc: string, asn: string, content: string, age: [number, number], minCount: number): Promise<string> {
    return this.timed("submit", () => this.pool.call<string>("submit", {
      pp: key.public_parameters,
      sk: key.secret_key,
      nym,
      request,
      probe_cc: cc,
      probe_asn: asn,
      content,
      age,
      min_count: minCount,
    }));
  }

  private async timed<T>(op: string, work: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      metrics.observeAnonCredOp(op, (performance.now() - t0) / 1000);
    }
  }

  get minProtocolVersion(): string {
    return this.config.minProtocolVersion;
  }

  get workers(): number {
    return this.pool.size;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** Upstream's order of checks (ooniprobe probe_services._verify_submit), with its error codes. */
async function verifySubmission(
  svc: AnonCredService,
  fields: SubmissionCredentials,
  contentText: string | null,
  cc: string,
  asn: string,
  policy: PolicyEntry[],
): Promise<Verification> {
  const given = [fields.nym, fields.zkp_request, fields.manifest_version, fields.protocol_version];
  if (given.every((v) => v === undefined || v === null)) return unverified(null);
  const key = currentKey(svc.ring());
  if (fields.manifest_version !== key.version) return unverified("manifest_not_found");
  const nym = B64ISH.safeParse(fields.nym);
  const request = B64ISH.safeParse(fields.zkp_request);
  const protocol = typeof fields.protocol_version === "string" ? fields.protocol_version : null;
  if (!nym.success || !request.success || protocol === null || contentText === null) return unverified("incomplete_anonc_fields");
  const probeVersion = versionTuple(protocol);
  if (!probeVersion) return unverified("invalid_protocol_version");
  if (olderThan(probeVersion, versionTuple(svc.minProtocolVersion)!)) return unverified("protocol_version_too_old");
  const ranges = rangesFor(policy, cc, asn);
  if (!ranges) return unverified("no_matching_policy");
  // Spent before the check (two identical requests at once cannot both pass), released if it fails.
  const digest = SpentProofs.digest(nym.data, request.data);
  if (!svc.spent.spend(digest)) return unverified("replayed_proof");
  try {
    const submitResponse = await svc.check(key, nym.data, request.data, cc, asn, contentText, ranges.age, ranges.minCount);
    return { status: "verified", code: verificationCodeOf("verified"), error: null, submitResponse };
  } catch (err) {
    svc.spent.release(digest);
    if (err instanceof AnonCredError) return failed(ERROR_CODES[err.kind]);
    // Our fault (worker crashed or timed out): not a failed proof, so not marked as one.
    return unverified("verification_unavailable");
  }
}

async function loadOrCreateRing(config: AnonCredConfig, pool: WorkerPool): Promise<{ ring: KeyRing; mtime: number | null }> {
  if (config.keysSecret) return { ring: parseKeyRing(config.keysSecret, "ANONC_KEYS_SECRET"), mtime: null };
  const existing = await readKeyRingFile(config.keysFile);
  if (existing) return { ring: existing, mtime: await mtimeOf(config.keysFile) };
  const keys = await pool.call<{ public_parameters: string; secret_key: string }>("keygen");
  try {
    await writeKeyRingFile(config.keysFile, withNewVersion(null, keys), true);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err; // another process won: use its keys
  }
  const ring = (await readKeyRingFile(config.keysFile))!;
  return { ring, mtime: await mtimeOf(config.keysFile) };
}
