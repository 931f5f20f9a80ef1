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
  #expectHeader = true;
  #inQuotes = false;
  /** Bytes read but not yet in a part: whole rows, then possibly the start of one. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Whole rows in #pending. */
  #pendingRows = 0;
  /** Bytes at the end of #pending after the last row end (a row still being read). */
  #partialBytes = 0;

  constructor(readonly targetBytes: number) {}

  get header(): Buffer | null {
    return this.#header;
  }

  /**
   * Next input is a new result with its own header line (one per bucket query); it must equal
   * the first one and is dropped.
   */
  startResult(): void {
    if (this.#inQuotes || this.#partialBytes > 0) throw new Error("CSV result ended in the middle of a row");
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
    }
    const out: CsvPart[] = [];
    // Start of the bytes of `data` not yet handed to a part.
    let from = 0;
    let lastRowEnd = -1;
    for (let i = 0; i < data.length; i++) {
      const b = data[i];
      if (b === QUOTE) {
        this.#inQuotes = !this.#inQuotes;
      } else if (b === LF && !this.#inQuotes) {
        this.#pendingRows++;
        lastRowEnd = i;
        // A part is cut at the first row end at or past the target size.
        if (this.#pendingBytes + (i + 1 - from) >= this.targetBytes) {
          out.push({ data: Buffer.concat([this.#header!, ...this.#pending, data.subarray(from, i + 1)]), rows: this.#pendingRows });
          this.#pending = [];
          this.#pendingBytes = 0;
          this.#pendingRows = 0;
          from = i + 1;
        }
      }
    }
    if (from < data.length) {
      this.#pending.push(data.subarray(from));
      this.#pendingBytes += data.length - from;
    }
    this.#partialBytes = lastRowEnd >= 0 ? data.length - (lastRowEnd + 1) : this.#partialBytes + data.length;
    return out;
  }

  /** The last part, if any rows are left; throws if the input stopped mid-row. */
  finish(): CsvPart | null {
    if (this.#headerBuf.length) throw new Error("CSV result ended inside its header line");
    if (this.#inQuotes) throw new Error("CSV result ended inside a quoted field");
    if (this.#partialBytes > 0) throw new Error("CSV result ended in the middle of a row");
    if (this.#pendingRows === 0) return null;
    const part = { data: Buffer.concat([this.#header!, ...this.#pending]), rows: this.#pendingRows };
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#pendingRows = 0;
    return part;
  }
}
