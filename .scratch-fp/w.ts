import { parentPort } from "node:worker_threads";
import { scoreFlags } from "/work/main/origin/src/fastpath/score";
parentPort!.postMessage(typeof scoreFlags);
