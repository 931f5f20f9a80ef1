import { randomBytes } from "node:crypto";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createTransport } from "nodemailer";
import type { Mailer, MailMessage } from "./types";

// Development transport (the default): every message becomes an RFC 5322 .eml file in a local
// directory, where a developer (or a test) opens the login link. Such a file necessarily contains
// the recipient's address, which is why this transport is for development only: production sets
// SMTP_HOST and then nothing is written to disk. File names carry no address.

export class OutboxMailer implements Mailer {
  readonly description: string;
  readonly #composer = createTransport({ streamTransport: true, buffer: true, newline: "unix" });

  constructor(
    readonly dir: string,
    private readonly from: string,
  ) {
    this.description = `outbox:${dir}`;
  }

  async send(msg: MailMessage): Promise<void> {
    const info = await this.#composer.sendMail({ from: this.from, ...msg, disableFileAccess: true, disableUrlAccess: true });
    const bytes = info.message;
    if (!Buffer.isBuffer(bytes)) throw new Error("outbox: the composer did not return a buffer");
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const name = `${new Date().toISOString().replace(/[:.]/g, "-")}-${randomBytes(6).toString("hex")}.eml`;
    const tmp = path.join(this.dir, `.${name}.tmp`);
    // Temp file then rename, so a reader never sees half a message.
    writeFileSync(tmp, bytes, { mode: 0o600 });
    renameSync(tmp, path.join(this.dir, name));
  }

  close(): void {
    this.#composer.close();
  }
}
