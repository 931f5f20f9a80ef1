import { parentPort } from "node:worker_threads";
import { digestSubmission } from "./digest";
import type { FromParseThread, ToParseThread } from "./protocol";

// A parse thread: digests one body at a time (pool.ts). Its heap is capped by the pool, so a body
// whose JSON would need more memory than that kills this thread, not the origin.

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
