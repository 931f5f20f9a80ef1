import { writeFileSync } from "node:fs";
import path from "node:path";
import { askHelper, differingFields, probeVerdicts } from "../support/control.ts";
import { newProbeHome, runMiniooni } from "../support/miniooni.ts";
import { startOohelperd } from "../support/oohelperd.ts";
import { submittedContent } from "../support/recorder.ts";
import { startInteropStack } from "../support/stack.ts";
import { ensureProbeCli } from "../support/probe-cli.ts";
const bins = ensureProbeCli();
const stack = await startInteropStack({ bridges: 2 });
const ohd = await startOohelperd(bins.oohelperd, { systemResolver: true, loopbackIsPublic: true });
console.error("up");
try {
  const list = [`http://${stack.sites[0]}/`, `http://${stack.sites[1]}/redirect/2`, `http://${stack.sites[2]}/malformed/short-body`];
  const f = path.join(newProbeHome(), "urls.txt");
  writeFileSync(f, list.join("\n") + "\n");
  const run = await runMiniooni({ binary: bins.miniooni, probeServices: `http://${stack.bridgeHosts[0]}:${stack.recorder.port}`, udpResolver: `${stack.farmAddress}:53` }, ["-f", f, "web_connectivity@v0.5"]);
  console.error("miniooni", run.code, run.uids.length, run.seconds);
  for (const s of stack.recorder.submissions) {
    const m = JSON.parse(submittedContent(s.body).toString());
    const req = m.test_keys.x_control_request;
    console.error("asking", m.input, JSON.stringify(req).slice(0, 200));
    const [a, b] = await Promise.all([askHelper(ohd.url, req), askHelper(stack.helper.url, req)]);
    console.error("answers", a.status, b.status);
    const v = await probeVerdicts(bins.verdict, m.test_keys, { oohelperd: a.body, ours: b.body });
    console.error(JSON.stringify(a.body.ip_info), JSON.stringify(b.body.ip_info), JSON.stringify(a.body.tls_handshake), JSON.stringify(b.body.tls_handshake), JSON.stringify(a.body.http_request).slice(0,300), JSON.stringify(b.body.http_request).slice(0,300));
    console.error(m.input, differingFields(a.body, b.body), JSON.stringify(v.oohelperd.blocking), JSON.stringify(v.ours.blocking));
  }
} finally {
  await ohd.stop();
  await stack.stop();
}
