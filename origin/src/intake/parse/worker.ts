import { parentPort } from "node:worker_threads";
import { digestSubmission } from "./digest";
import type { FromParseThread, ToParseThread } from "./protocol";

// A parse thread: digests one body at a time (pool.ts). The value count (digest.ts) refuses a body
// before JSON.parse could build more than a bounded heap; the pool's heap cap is only a backstop.

const port = parentPort!;
port.on("message", (msg: ToParseThread) => {
  let reply: FromParseThread;
  try {
    reply = { id: msg.id, result: digestSubmission(msg.bytes) };
  } catch (err) {
    // JSON.parse itself can throw RangeError (string too long, stack): not a parse of ours to keep.
    reply = { id: msg.id, result: { refused: `request body could not be parsed (${(err as Error).name})` } };
  }
  port.postMessage(reply);
});
port.postMessage({ ready: true } satisfies FromParseThread);
