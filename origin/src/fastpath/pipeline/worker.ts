import { parentPort } from "node:worker_threads";
import { buildFingerprintSet, type FingerprintSet } from "../fingerprints";
import type { FromWorker, ToWorker } from "./protocol";
import { scoreItem } from "./score-item";

// A scoring thread: JSON parsing, scoring and row building, the CPU-heavy part of the pipeline, off
// the main thread that serves HTTP. Messages are handled in order, so a fingerprint update applies
// to every task sent after it.

const port = parentPort;
if (!port) throw new Error("fastpath worker must run in a worker thread");

let fingerprints: FingerprintSet = buildFingerprintSet([], []);

port.on("message", (msg: ToWorker) => {
  if (msg.type === "fingerprints") {
    fingerprints = buildFingerprintSet(msg.lists.dns, msg.lists.http, { semantics: msg.lists.semantics });
    return;
  }
  const reply: FromWorker = { type: "result", id: msg.id, results: msg.items.map((item) => scoreItem(item, fingerprints)) };
  port.postMessage(reply);
});
port.postMessage({ type: "ready" } satisfies FromWorker);
