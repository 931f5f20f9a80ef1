import type { Config } from "../config";
import { OutboxMailer } from "./outbox";
import { SmtpMailer } from "./smtp";
import type { Mailer } from "./types";

export type { Mailer, MailMessage } from "./types";
export { MailRejectedError, MailUnavailableError } from "./types";

/** SMTP when SMTP_HOST is set, else the development outbox directory. */
export function createMailer(config: Config): Mailer {
  const m = config.mail;
  if (m.smtp) return new SmtpMailer({ ...m.smtp, from: m.from });
  return new OutboxMailer(m.outboxDir, m.from);
}
