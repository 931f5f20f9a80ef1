import type { Socket } from "node:net";

// A pull reader over a socket: lines for the response head, bounded chunks for the body. Reading
// is paused while nobody asks, so a fast server cannot make us buffer more than one chunk ahead.

const EMPTY = Buffer.alloc(0);

export class ProtocolError extends Error {}

export class SocketReader {
  #buf: Buffer = EMPTY;
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;

  constructor(private readonly socket: Socket) {
    socket.pause();
    socket.on("data", (d: Buffer) => {
      this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
      socket.pause();
      this.#notify();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (err: Error) => {
      this.#error ??= err;
      this.#notify();
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** Waits for more bytes; false at EOF. Throws the socket's error. */
  async #more(): Promise<boolean> {
    if (this.#error) throw this.#error;
    if (this.#ended) return false;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      this.socket.resume();
    });
    if (this.#error) throw this.#error;
    return !this.#ended || this.#buf.length > 0;
  }

  /**
   * One line without its "\n" and an optional "\r" before it (Go's textproto accepts both). `null`
   * at EOF before any byte of the line; a ProtocolError past `limit` bytes or at EOF mid-line.
   */
  async line(limit: number): Promise<string | null> {
    let from = 0;
    for (;;) {
      const nl = this.#buf.indexOf(0x0a, from);
      if (nl !== -1) {
        const end = nl > 0 && this.#buf[nl - 1] === 0x0d ? nl - 1 : nl;
        const text = this.#buf.toString("latin1", 0, end);
        this.#buf = this.#buf.subarray(nl + 1);
        return text;
      }
      if (this.#buf.length > limit) throw new ProtocolError("header line too long");
      from = this.#buf.length;
      if (!(await this.#more()) && this.#buf.length === from) {
        if (from === 0) return null;
        throw new ProtocolError("unexpected EOF");
      }
    }
  }

  /** The next byte without consuming it; -1 at EOF. */
  async peek(): Promise<number> {
    while (this.#buf.length === 0) if (!(await this.#more())) return -1;
    return this.#buf[0]!;
  }

  /** Up to `max` bytes (at least one); null at EOF. */
  async chunk(max: number): Promise<Buffer | null> {
    while (this.#buf.length === 0) if (!(await this.#more()) && this.#buf.length === 0) return null;
    const out = this.#buf.length <= max ? this.#buf : this.#buf.subarray(0, max);
    this.#buf = this.#buf.length <= max ? EMPTY : this.#buf.subarray(max);
    return out;
  }
}
