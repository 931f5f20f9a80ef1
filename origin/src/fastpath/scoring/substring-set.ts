// Which of many fixed patterns occur in a text, in one pass (Aho-Corasick over UTF-8 bytes).
// The fastpath looks for ~1,300 blockpage strings in every HTTP body; testing them one by one
// costs a scan per pattern, this costs one scan per body. Bytes rather than UTF-16 units so that
// base64 bodies (raw bytes) and JSON string bodies share one automaton: for well-formed text a
// UTF-8 byte match is exactly a code point substring match.

const textEncoder = new TextEncoder();

// Shallow states (BFS order) get full DFA rows: scanning ordinary text mostly stays within a
// few bytes of the root, where a row lookup replaces the goto/fail walk.
const DENSE_STATES = 2048;
// ASCII-only rows (128 entries, 16-bit when the automaton allows) for more states: the hot loop
// over text touches these, and at half the row width and half the entry size, four times as many
// states fit in the same cache.
const ASCII_STATES = 8192;

export class SubstringSet {
  readonly size: number;
  private readonly dense: Int32Array; // [state * 256 + byte] → next state, for state < denseCount
  private readonly denseCount: number;
  private readonly ascii: Uint16Array | Int32Array; // [state * 128 + ascii byte] → next state, for state < asciiCount
  private readonly asciiCount: number;
  private readonly edgeStart: Int32Array; // sparse transitions of the other nodes
  private readonly edgeByte: Uint8Array;
  private readonly edgeTo: Int32Array;
  private readonly fail: Int32Array;
  private readonly dict: Int32Array; // nearest proper suffix node with outputs (0 = none)
  private readonly reports: Uint8Array; // node has outputs itself or through dict
  private readonly outStart: Int32Array;
  private readonly outIds: Int32Array;
  private readonly always: readonly number[]; // empty patterns match everything
  // Scratch reused across scans (single-threaded, synchronous): no per-call allocation.
  private readonly seen: Uint8Array;
  private readonly touched: number[] = [];

  constructor(patterns: readonly (string | Uint8Array)[]) {
    this.size = patterns.length;
    this.seen = new Uint8Array(patterns.length);
    const children: Map<number, number>[] = [new Map()];
    const outs: number[][] = [[]];
    const always: number[] = [];
    patterns.forEach((p, id) => {
      const bytes = typeof p === "string" ? textEncoder.encode(p) : p;
      if (bytes.length === 0) {
        always.push(id);
        return;
      }
      let node = 0;
      for (const b of bytes) {
        let next = children[node]!.get(b);
        if (next === undefined) {
          next = children.length;
          children.push(new Map());
          outs.push([]);
          children[node]!.set(b, next);
        }
        node = next;
      }
      outs[node]!.push(id);
    });
    this.always = always;

    // Renumber the trie in BFS order (root 0) so shallow states have small ids.
    const n = children.length;
    const bfs: number[] = [0];
    for (let qi = 0; qi < bfs.length; qi++) for (const v of children[bfs[qi]!]!.values()) bfs.push(v);
    const id = new Int32Array(n);
    bfs.forEach((old, i) => (id[old] = i));
    const kids: Map<number, number>[] = bfs.map((old) => {
      const m = new Map<number, number>();
      for (const [b, v] of children[old]!) m.set(b, id[v]!);
      return m;
    });
    const outputs: number[][] = bfs.map((old) => outs[old]!);

    const fail = new Int32Array(n);
    const dict = new Int32Array(n);
    for (let u = 0; u < n; u++) {
      for (const [b, v] of kids[u]!) {
        if (u === 0) continue; // depth-1 states fail to the root
        let f = fail[u]!;
        while (f !== 0 && !kids[f]!.has(b)) f = fail[f]!;
        fail[v] = kids[f]!.get(b) ?? 0;
      }
      if (u !== 0) {
        const fu = fail[u]!;
        dict[u] = outputs[fu]!.length > 0 ? fu : dict[fu]!;
      }
    }
    this.fail = fail;
    this.dict = dict;

    this.denseCount = Math.min(n, DENSE_STATES);
    this.dense = new Int32Array(this.denseCount * 256);
    for (let u = 0; u < this.denseCount; u++) {
      for (let b = 0; b < 256; b++) {
        const child = kids[u]!.get(b);
        this.dense[u * 256 + b] = child ?? (u === 0 ? 0 : this.dense[fail[u]! * 256 + b]!);
      }
    }

    this.asciiCount = Math.min(n, ASCII_STATES);
    this.ascii = n <= 0x10000 ? new Uint16Array(this.asciiCount * 128) : new Int32Array(this.asciiCount * 128);
    // BFS order puts every fail state before the states failing to it.
    for (let u = 0; u < this.asciiCount; u++) {
      for (let b = 0; b < 128; b++) {
        const child = kids[u]!.get(b);
        this.ascii[u * 128 + b] = child ?? (u === 0 ? 0 : this.ascii[fail[u]! * 128 + b]!);
      }
    }

    let edges = 0;
    for (let i = 1; i < n; i++) edges += kids[i]!.size;
    this.edgeStart = new Int32Array(n + 1);
    this.edgeByte = new Uint8Array(edges);
    this.edgeTo = new Int32Array(edges);
    let e = 0;
    for (let i = 0; i < n; i++) {
      this.edgeStart[i] = e;
      if (i === 0) continue;
      for (const [b, v] of [...kids[i]!].sort((x, y) => x[0] - y[0])) {
        this.edgeByte[e] = b;
        this.edgeTo[e] = v;
        e++;
      }
    }
    this.edgeStart[n] = e;

    let total = 0;
    for (const o of outputs) total += o.length;
    this.outStart = new Int32Array(n + 1);
    this.outIds = new Int32Array(total);
    this.reports = new Uint8Array(n);
    let k = 0;
    for (let i = 0; i < n; i++) {
      this.outStart[i] = k;
      for (const pid of outputs[i]!) this.outIds[k++] = pid;
      if (outputs[i]!.length > 0 || dict[i]! !== 0) this.reports[i] = 1;
    }
    this.outStart[n] = k;
  }

  private advance(state: number, b: number): number {
    let s = state;
    for (;;) {
      if (s < this.denseCount) return this.dense[(s << 8) | b]!;
      const end = this.edgeStart[s + 1]!;
      for (let e = this.edgeStart[s]!; e < end; e++) {
        if (this.edgeByte[e] === b) return this.edgeTo[e]!;
      }
      s = this.fail[s]!;
    }
  }

  private emit(state: number): void {
    let t = this.outStart[state]! < this.outStart[state + 1]! ? state : this.dict[state]!;
    while (t !== 0) {
      for (let k = this.outStart[t]!, end = this.outStart[t + 1]!; k < end; k++) {
        const id = this.outIds[k]!;
        if (this.seen[id] === 0) {
          this.seen[id] = 1;
          this.touched.push(id);
        }
      }
      t = this.dict[t]!;
    }
  }

  private collect(): number[] {
    for (const id of this.always) {
      if (this.seen[id] === 0) {
        this.seen[id] = 1;
        this.touched.push(id);
      }
    }
    if (this.touched.length === 0) return [];
    const found = this.touched.slice().sort((a, b) => a - b);
    for (const id of this.touched) this.seen[id] = 0;
    this.touched.length = 0;
    return found;
  }

  /** Ids (ascending) of the patterns occurring in the UTF-8 encoding of `text`. */
  findInString(text: string): number[] {
    let s = 0;
    const n = text.length;
    // The hot loop (ASCII in the states with ASCII rows) with the tables in locals: about a third
    // faster on large bodies than going through advance() for every character.
    const ascii = this.ascii;
    const asciiCount = this.asciiCount;
    const reports = this.reports;
    for (let i = 0; i < n; i++) {
      let c = text.charCodeAt(i);
      if (c < 0x80) {
        s = s < asciiCount ? ascii[(s << 7) | c]! : this.advance(s, c);
        if (reports[s] === 1) this.emit(s);
        continue;
      }
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        }
      }
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // lone surrogate, as TextEncoder does
      if (c < 0x800) {
        s = this.advance(s, 0xc0 | (c >> 6));
        if (this.reports[s] === 1) this.emit(s);
      } else {
        if (c < 0x10000) {
          s = this.advance(s, 0xe0 | (c >> 12));
          if (this.reports[s] === 1) this.emit(s);
        } else {
          s = this.advance(s, 0xf0 | (c >> 18));
          if (this.reports[s] === 1) this.emit(s);
          s = this.advance(s, 0x80 | ((c >> 12) & 0x3f));
          if (this.reports[s] === 1) this.emit(s);
        }
        s = this.advance(s, 0x80 | ((c >> 6) & 0x3f));
        if (this.reports[s] === 1) this.emit(s);
      }
      s = this.advance(s, 0x80 | (c & 0x3f));
      if (this.reports[s] === 1) this.emit(s);
    }
    return this.collect();
  }

  /** Ids (ascending) of the patterns occurring in `bytes`. */
  findInBytes(bytes: Uint8Array): number[] {
    let s = 0;
    const dense = this.dense;
    const denseCount = this.denseCount;
    const reports = this.reports;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      s = s < denseCount ? dense[(s << 8) | b]! : this.advance(s, b);
      if (reports[s] === 1) this.emit(s);
    }
    return this.collect();
  }
}
