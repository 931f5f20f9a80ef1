import { createTransport } from "nodemailer";
import { MailRejectedError, MailUnavailableError, type Mailer, type MailMessage } from "./types";

// Production transport: hand the message to an SMTP relay and keep nothing. nodemailer's own
// logging stays off (it would print envelopes), and a failure is reduced to its error code before
// anything can log it, because relay replies quote addresses.

export interface SmtpSettings {
  host: string;
  port: number;
  /** Implicit TLS (port 465). Otherwise STARTTLS, required unless requireTls is false. */
  secure: boolean;
  requireTls: boolean;
  user: string | null;
  password: string | null;
  from: string;
}

export class SmtpMailer implements Mailer {
  readonly description: string;
  readonly #transport;

  constructor(private readonly s: SmtpSettings) {
    this.description = `smtp:${s.host}:${s.port}`;
    this.#transport = createTransport({
      host: s.host,
      port: s.port,
      secure: s.secure,
      requireTLS: !s.secure && s.requireTls,
      auth: s.user ? { user: s.user, pass: s.password ?? "" } : undefined,
      logger: false,
      debug: false,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  }

  async send(msg: MailMessage): Promise<void> {
    try {
      await this.#transport.sendMail({ from: this.s.from, ...msg });
    } catch (err) {
      const code = typeof (err as { code?: unknown }).code === "string" ? (err as { code: string }).code : "EUNKNOWN";
      const status = Number((err as { responseCode?: unknown }).responseCode);
      // 5xx to RCPT TO: this address will never be accepted. 4xx is temporary: the relay's problem.
      if (code === "EENVELOPE" && status >= 500) throw new MailRejectedError();
      throw new MailUnavailableError(code);
    }
  }

  close(): void {
    this.#transport.close();
  }
}
