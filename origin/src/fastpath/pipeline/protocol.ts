import type { Fingerprint, MatchSemantics } from "../fingerprints";
import type { ItemResult, ScoreItem } from "./score-item";

// Messages between the pipeline (main thread) and its scoring threads. Fingerprints travel as plain
// rows (structured clone); each thread compiles its own matchers from them.

export interface FingerprintLists {
  dns: Fingerprint[];
  http: Fingerprint[];
  semantics: MatchSemantics;
  /** Checksum of the tables they came from ("" when not from the database). */
  version: string;
}

export type ToWorker = { type: "fingerprints"; lists: FingerprintLists } | { type: "score"; id: number; items: ScoreItem[] };

/** "ready": the thread loaded its code (a thread that dies before that failed to start). */
export type FromWorker = { type: "ready" } | { type: "result"; id: number; results: ItemResult[] };
