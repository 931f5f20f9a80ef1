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
  // step()'s second result (no allocation per character).
  private stepState = 0;

  constructor(patterns: readonly (string | Uint8Array)[]) {
    this.size = patterns.length;
    this.seen = new Uint8Array(patterns.length);
    const encoded = patterns.map((p) => (typeof p === "string" ? textEncoder.encode(p) : p));
    let maxNodes = 1;
    for (const bytes of encoded) maxNodes += bytes.length;

    // The trie in typed arrays (child and sibling lists, pattern lists): a Map per node, as this
    // was first built, left ~50 MB of transient heap per fingerprint set, which V8 kept as RSS in
    // every scoring thread. Node ids here are in insertion order ("old" ids).
    const firstChild = new Int32Array(maxNodes).fill(-1);
    const nextSibling = new Int32Array(maxNodes).fill(-1);
    const label = new Uint8Array(maxNodes);
    const outHead = new Int32Array(maxNodes).fill(-1);
    const outNext = new Int32Array(patterns.length).fill(-1);
    const childOf = (node: number, b: number): number => {
      for (let c = firstChild[node]!; c !== -1; c = nextSibling[c]!) if (label[c] === b) return c;
      return -1;
    };
    let count = 1;
    const always: number[] = [];
    for (let pid = 0; pid < encoded.length; pid++) {
      const bytes = encoded[pid]!;
      if (bytes.length === 0) {
        always.push(pid);
        continue;
      }
      let node = 0;
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i]!;
        let next = childOf(node, b);
        if (next === -1) {
          next = count++;
          label[next] = b;
          nextSibling[next] = firstChild[node]!;
          firstChild[node] = next;
        }
        node = next;
      }
      outNext[pid] = outHead[node]!;
      outHead[node] = pid;
    }
    this.always = always;
    const n = count;

    // Breadth-first order: every fail state comes before the states failing to it.
    const bfs = new Int32Array(n); // old ids, root first
    let tail = 1;
    for (let qi = 0; qi < tail; qi++) {
      for (let c = firstChild[bfs[qi]!]!; c !== -1; c = nextSibling[c]!) bfs[tail++] = c;
    }

    // Fail and dictionary links, on old ids in BFS order.
    const failOld = new Int32Array(n);
    const dictOld = new Int32Array(n); // nearest proper suffix with outputs (0 = none)
    for (let qi = 0; qi < n; qi++) {
      const u = bfs[qi]!;
      if (u !== 0) {
        const fu = failOld[u]!;
        dictOld[u] = outHead[fu]! !== -1 ? fu : dictOld[fu]!;
      }
      for (let v = firstChild[u]!; v !== -1; v = nextSibling[v]!) {
        if (u === 0) continue; // depth-1 states fail to the root
        const b = label[v]!;
        let f = failOld[u]!;
        while (f !== 0 && childOf(f, b) === -1) f = failOld[f]!;
        const to = childOf(f, b);
        failOld[v] = to === -1 ? 0 : to;
      }
    }

    // Final ids: the states that report nothing first, then those that report (each group in BFS
    // order). The quiet ones get the table rows, so one comparison (next < asciiCount) tells the
    // scan loop both that the next state has an ASCII row and that it reports nothing. A state
    // failing to one that reports reports too, so a quiet state's fail state is quiet and before
    // it: its row is filled first.
    const reportsOld = (u: number) => outHead[u]! !== -1 || dictOld[u]! !== 0;
    const order = new Int32Array(n); // final id → old id
    const id = new Int32Array(n); // old id → final id
    let placed = 0;
    for (let qi = 0; qi < n; qi++) if (!reportsOld(bfs[qi]!)) order[placed++] = bfs[qi]!;
    const quiet = placed;
    for (let qi = 0; qi < n; qi++) if (reportsOld(bfs[qi]!)) order[placed++] = bfs[qi]!;
    for (let u = 0; u < n; u++) id[order[u]!] = u;
    const fail = new Int32Array(n);
    const dict = new Int32Array(n);
    for (let u = 0; u < n; u++) {
      fail[u] = id[failOld[order[u]!]!]!;
      dict[u] = id[dictOld[order[u]!]!]!;
    }
    this.fail = fail;
    this.dict = dict;

    // Full rows: a state's row is its fail state's row (already filled: BFS order) with its own
    // children written over it.
    this.denseCount = Math.min(quiet, DENSE_STATES);
    this.dense = new Int32Array(this.denseCount * 256);
    this.asciiCount = Math.min(quiet, ASCII_STATES);
    this.ascii = n <= 0x10000 ? new Uint16Array(this.asciiCount * 128) : new Int32Array(this.asciiCount * 128);
    const rows = Math.max(this.denseCount, this.asciiCount);
    for (let u = 0; u < rows; u++) {
      const f = fail[u]!;
      if (u > 0 && u < this.denseCount) this.dense.copyWithin(u * 256, f * 256, f * 256 + 256);
      if (u > 0 && u < this.asciiCount) this.ascii.copyWithin(u * 128, f * 128, f * 128 + 128);
      for (let c = firstChild[order[u]!]!; c !== -1; c = nextSibling[c]!) {
        const b = label[c]!;
        if (u < this.denseCount) this.dense[u * 256 + b] = id[c]!;
        if (u < this.asciiCount && b < 128) this.ascii[u * 128 + b] = id[c]!;
      }
    }

    // Sparse transitions of every state but the root (whose row is always dense).
    this.edgeStart = new Int32Array(n + 1);
    this.edgeByte = new Uint8Array(Math.max(0, n - 1));
    this.edgeTo = new Int32Array(Math.max(0, n - 1));
    let e = 0;
    for (let u = 0; u < n; u++) {
      this.edgeStart[u] = e;
      if (u === 0) continue;
      for (let c = firstChild[order[u]!]!; c !== -1; c = nextSibling[c]!) {
        this.edgeByte[e] = label[c]!;
        this.edgeTo[e] = id[c]!;
        e++;
      }
    }
    this.edgeStart[n] = e;

    let total = 0;
    for (let pid = 0; pid < encoded.length; pid++) if (encoded[pid]!.length > 0) total++;
    this.outStart = new Int32Array(n + 1);
    this.outIds = new Int32Array(total);
    this.reports = new Uint8Array(n);
    let k = 0;
    for (let u = 0; u < n; u++) {
      this.outStart[u] = k;
      const old = order[u]!;
      for (let pid = outHead[old]!; pid !== -1; pid = outNext[pid]!) this.outIds[k++] = pid;
      if (outHead[old]! !== -1 || dict[u]! !== 0) this.reports[u] = 1;
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
    const ascii = this.ascii;
    const asciiCount = this.asciiCount;
    let i = 0;
    for (;;) {
      // The hot loop: ASCII characters while the state has an ASCII row. Those states report
      // nothing (see the numbering), so a character costs one table load and two comparisons. It
      // is a loop of its own: with the general step inline, large bodies scanned 12–18 % slower.
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c >= 0x80 || s >= asciiCount) break;
        s = ascii[(s << 7) | c]!;
        i++;
      }
      // The state the last step entered may report (emit is idempotent).
      if (s >= asciiCount && this.reports[s] === 1) this.emit(s);
      if (i >= n) break;
      i = this.step(text, i, s);
      s = this.stepState;
    }
    return this.collect();
  }

  /**
   * One character (a surrogate pair is one) through the general path: the UTF-8 bytes of
   * text[i] from `state`, reporting as it goes. Returns the next index; the state is left in
   * stepState.
   */
  private step(text: string, i: number, state: number): number {
    let s = state;
    let c = text.charCodeAt(i++);
    if (c < 0x80) {
      s = this.advance(s, c);
      if (this.reports[s] === 1) this.emit(s);
      this.stepState = s;
      return i;
    }
    if (c >= 0xd800 && c <= 0xdbff && i < text.length) {
      const d = text.charCodeAt(i);
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
    this.stepState = s;
    return i;
  }

  /** Ids (ascending) of the patterns occurring in `bytes`. */
  findInBytes(bytes: Uint8Array): number[] {
    let s = 0;
    const dense = this.dense;
    const denseCount = this.denseCount;
    const reports = this.reports;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (s < denseCount) {
        s = dense[(s << 8) | b]!;
        if (s < denseCount) continue; // a state with a full row reports nothing
      } else {
        s = this.advance(s, b);
      }
      if (reports[s] === 1) this.emit(s);
    }
    return this.collect();
  }
}
