// Submitting as a probe does, through the edge Worker under test (workerd): shared by the tests that
// follow a measurement from the bridge into the origin's pipelines (fastpath, web analysis).
import { exports } from "cloudflare:workers";
import { expect } from "vitest";

const worker = exports.default;

/** Now as the probes write test_start_time: "YYYY-MM-DD HH:MM:SS", UTC. */
export const probeNow = () => new Date().toISOString().slice(0, 19).replace("T", " ");

/** POST a JSON body to the Worker as miniooni on loopback would; the answer must be a 200. */
export async function postViaEdge<T>(host: string, path: string, body: unknown): Promise<T> {
  const res = await worker.fetch(`https://${host}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "CF-Connecting-IP": "127.0.0.1", "User-Agent": "miniooni/0.1.0-dev" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as T;
}

/** Open a web_connectivity 0.4.3 report (AS30722, IT) through the Worker; its report_id. */
export async function openWebConnectivityReport(host: string, start: string): Promise<string> {
  const { report_id } = await postViaEdge<{ report_id: string }>(host, "/report", {
    data_format_version: "0.2.0", format: "json", probe_asn: "AS30722", probe_cc: "IT", software_name: "miniooni",
    software_version: "0.1.0-dev", test_name: "web_connectivity", test_start_time: start, test_version: "0.4.3",
  });
  return report_id;
}
