import type { ServicesCommand } from "../commands/types";
import { EmailAddress } from "./account-id";
import { ROLES, type Role } from "./tokens";

// `npm run cli -- accounts …`: operator access to accounts without an admin session, e.g. to find
// an account id in quotas_summary or logs, or to grant a role before any admin exists. The address
// given on the command line is hashed and never printed back.

const usage = "accounts id EMAIL | accounts set-role EMAIL user|admin | accounts expunge EMAIL";

export const accountsCommand: ServicesCommand = {
  summary: "people's accounts: print an account id, set a role, expunge sessions",
  usage,
  needsServices: true,
  async runWith(services, args, io) {
    const [sub, rawEmail, rawRole] = args;
    const email = EmailAddress.safeParse(rawEmail ?? "");
    if (!sub || !["id", "set-role", "expunge"].includes(sub) || !email.success) {
      io.err(`usage: npm run cli -- ${usage}\n`);
      return 2;
    }
    const { auth } = services;
    const accountId = auth.hasher.accountId(email.data);
    if (sub === "id") {
      io.out(`${accountId}\n`);
      return 0;
    }
    if (sub === "set-role" && !ROLES.includes(rawRole as Role)) {
      io.err(`role must be one of: ${ROLES.join(", ")}\n`);
      return 2;
    }
    if (sub === "set-role") await auth.store.setRole(accountId, rawRole as Role);
    // A role change also ends the account's sessions: their tokens carry the old role.
    await auth.store.expunge(accountId);
    io.out(`${JSON.stringify({ account_id: accountId, ...(sub === "set-role" ? { role: rawRole } : {}), expunged: true })}\n`);
    return 0;
  },
};
