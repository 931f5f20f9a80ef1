// How the backend sends email (login links only, for now). Two transports: SMTP for production,
// and a local outbox directory for development. Neither ever logs a recipient.

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  /** For logs and /health-style output; never contains credentials or addresses. */
  readonly description: string;
  send(msg: MailMessage): Promise<void>;
  close(): void;
}

/** The relay refused the recipient: the caller answers 400, the request itself was the problem. */
export class MailRejectedError extends Error {
  constructor() {
    super("the mail relay refused the recipient");
    this.name = "MailRejectedError";
  }
}

/**
 * Any other delivery failure (relay down, authentication, timeout). The message carries only
 * nodemailer's error code: relay replies can quote the recipient address, so they are never kept.
 */
export class MailUnavailableError extends Error {
  constructor(readonly code: string) {
    super(`the mail relay is unavailable (${code})`);
    this.name = "MailUnavailableError";
  }
}
