// Cuts a stream of CSV bytes into parts of about `targetBytes`, only ever between rows. A row ends
// at a line feed outside double quotes: ClickHouse writes strings containing newlines quoted (with
// inner quotes doubled), so counting quotes tells inside from outside, across chunk boundaries too.
// Every part is a complete CSV file: the header line is put back at the start of each one.

const QUOTE = 0x22;
const LF = 0x0a;

export interface CsvPart {
  /** Header line + whole rows. */
  data: Buffer;
  rows: number;
}

export class CsvChunker {
  #header: Buffer | null = null;
  /** Bytes of the header line still being read (the header may span input chunks). */
  #headerBuf: Buffer[] = [];
  #inQuotes = false;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #pendingRows = 0;
  /** Rows in #pending up to and including the last complete row. */
  #rowsAtBoundary = 0;
  /** Position just after the last row end in #pending: [chunk index, offset]. */
  #boundary: [number, number] | null = null;
  #expectHeader = true;

  constructor(readonly targetBytes: number) {}

  get header(): Buffer | null {
    return this.#header;
  }

  /**
   * Next input is a new result with its own header line (one per bucket query); it must equal
   * the first one and is dropped.
   */
  startResult(): void {
    if (this.#inQuotes) throw new Error("CSV result ended inside a quoted field");
    this.#expectHeader = true;
  }

  /** Feeds bytes; returns the parts that became complete. */
  push(chunk: Buffer): CsvPart[] {
    let data = chunk;
    if (this.#expectHeader) {
      const lf = data.indexOf(LF);
      if (lf < 0) {
        this.#headerBuf.push(data);
        return [];
      }
      const header = Buffer.concat([...this.#headerBuf, data.subarray(0, lf + 1)]);
      this.#headerBuf = [];
      this.#expectHeader = false;
      if (this.#header === null) this.#header = header;
      else if (!this.#header.equals(header)) throw new Error("the header line changed between result sets");
      data = data.subarray(lf + 1);
      if (data.length === 0) return [];
    }
    for (let i = 0; i < data.length; i++) {
      const b = data[i];
      if (b === QUOTE) this.#inQuotes = !this.#inQuotes;
      else if (b === LF && !this.#inQuotes) {
        this.#pendingRows++;
        this.#rowsAtBoundary = this.#pendingRows;
        this.#boundary = [this.#pending.length, i + 1];
      }
    }
    this.#pending.push(data);
    this.#pendingBytes += data.length;
    const out: CsvPart[] = [];
    if (this.#pendingBytes >= this.targetBytes && this.#boundary) out.push(this.#cut());
    return out;
  }

  /** The last part, if any rows are left; throws if the input stopped mid-row. */
  finish(): CsvPart | null {
    if (this.#headerBuf.length) throw new Error("CSV result ended inside its header line");
    if (this.#inQuotes) throw new Error("CSV result ended inside a quoted field");
    if (this.#pendingBytes - this.#bytesToBoundary() > 0) throw new Error("CSV result ended in the middle of a row");
    if (this.#pendingRows === 0) return null;
    return this.#cut();
  }

  #bytesToBoundary(): number {
    if (!this.#boundary) return 0;
    const [idx, off] = this.#boundary;
    let n = off;
    for (let k = 0; k < idx; k++) n += this.#pending[k]!.length;
    return n;
  }

  #cut(): CsvPart {
    const [idx, off] = this.#boundary!;
    const head = this.#pending.slice(0, idx);
    const last = this.#pending[idx]!;
    const body = Buffer.concat([this.#header ?? Buffer.alloc(0), ...head, last.subarray(0, off)]);
    const rest = last.subarray(off);
    const rows = this.#rowsAtBoundary;
    this.#pending = [...(rest.length ? [rest] : []), ...this.#pending.slice(idx + 1)];
    this.#pendingBytes = this.#pending.reduce((n, b) => n + b.length, 0);
    this.#pendingRows -= rows;
    this.#rowsAtBoundary = 0;
    this.#boundary = null;
    return { data: body, rows };
  }
}
