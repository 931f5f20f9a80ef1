// Entry point of a test-helper process for the fault and load suites: the real web-connectivity
// helper (origin/src/testhelper), like `cli testhelper serve`, but allowed to measure loopback
// targets (its tests-only option) so that nothing it does leaves 127.0.0.0/8.
import { startTestHelper } from "../../origin/src/testhelper";

const port = Number(process.argv[2] ?? 0);
const helper = await startTestHelper({ host: "127.0.0.1", port, allowLoopback: true, maxInFlight: 100, maxInFlightOoniprobe: 200 });
process.stdout.write(`${JSON.stringify({ event: "listening", url: helper.url, port: helper.port })}\n`);
const stop = () => void helper.close().finally(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
