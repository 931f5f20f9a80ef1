import type { Config } from "../config";
import type { Database } from "../db/clickhouse";
import { AccountIdHasher } from "./account-id";
import { jwtSecret, loadOrCreateSecret } from "../secrets";
import { AccountStore } from "./store";
import { TokenService, type Role } from "./tokens";

// Everything account routes and requireRole() need, built once per process from the configuration.

export interface LoginState {
  /** Effective role: admin when configured so, else the accounts table, else null (no account row). */
  role: Role | null;
  expungeThreshold: number;
}

export class AuthService {
  readonly tokens: TokenService;
  readonly hasher: AccountIdHasher;
  readonly store: AccountStore;
  readonly #configuredAdmins: Set<string>;
  readonly #redirectOrigins: Set<string>;

  /** Reads (or, for local development, generates) the secrets, then builds the service. */
  static async open(config: Config, db: Database): Promise<AuthService> {
    // The JWT key is the one probe tokens use (secrets.ts); audiences keep the token kinds apart.
    const secret = await jwtSecret(config);
    const hashingKey = config.accounts.hashingKey ?? (await loadOrCreateSecret(config.dataDir, "account_id_hashing_key"));
    return new AuthService(config, db, secret, hashingKey);
  }

  constructor(config: Config, db: Database, jwtSecretValue: string, hashingKey: string) {
    const a = config.accounts;
    this.tokens = new TokenService({ secret: jwtSecretValue, sessionExpiryS: a.sessionExpiryS, loginExpiryS: a.loginExpiryS });
    this.hasher = new AccountIdHasher(hashingKey);
    this.store = new AccountStore(db);
    // Only the hashes are kept: the configured addresses are not needed after start-up.
    this.#configuredAdmins = new Set(a.adminEmails.map((e) => this.hasher.accountId(e)));
    this.#redirectOrigins = new Set(a.redirectOrigins);
  }

  isConfiguredAdmin(accountId: string): boolean {
    return this.#configuredAdmins.has(accountId);
  }

  async loginState(accountId: string): Promise<LoginState> {
    const s = await this.store.state(accountId);
    return { role: this.isConfiguredAdmin(accountId) ? "admin" : s.role, expungeThreshold: s.expungeThreshold };
  }

  /** The allowed origin `redirectTo` belongs to, or null. */
  loginOrigin(redirectTo: string): string | null {
    let u: URL;
    try {
      u = new URL(redirectTo);
    } catch {
      return null;
    }
    if (u.username || u.password) return null;
    return this.#redirectOrigins.has(u.origin) ? u.origin : null;
  }
}
