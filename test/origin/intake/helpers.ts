import { readdirSync, statSync } from "node:fs";
import path from "node:path";

// Shared by the intake tests that talk to a real origin.

export const UA = "miniooni/0.1.0-dev ooniprobe-engine/3.31.0";

export function measurement(reportId: string | undefined, extra: Record<string, unknown> = {}) {
  return {
    annotations: { architecture: "amd64", engine_name: "ooniprobe-engine", engine_version: "3.31.0", platform: "linux" },
    data_format_version: "0.2.0",
    input: "https://www.example.org/",
    measurement_start_time: "2024-02-14 09:06:20",
    probe_asn: "AS30722",
    probe_cc: "IT",
    probe_ip: "127.0.0.1",
    probe_network_name: "Vodafone Italia S.p.A.",
    ...(reportId ? { report_id: reportId } : {}),
    resolver_asn: "AS30722",
    resolver_ip: "127.0.0.2",
    resolver_network_name: "Vodafone Italia S.p.A.",
    software_name: "miniooni",
    software_version: "0.1.0-dev",
    test_keys: { accessible: true, blocking: false, queries: [], requests: [] },
    test_name: "web_connectivity",
    test_runtime: 1.5,
    test_start_time: "2024-02-14 09:06:17",
    test_version: "0.4.3",
    ...extra,
  };
}

/** Every file under dir (relative paths), skipping the embedded database. */
export function listFiles(dir: string, skip = new Set(["clickhouse"])): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d)) {
      if (rel === "" && skip.has(name)) continue;
      const full = path.join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(full).isDirectory()) walk(full, r);
      else out.push(r);
    }
  };
  walk(dir, "");
  return out.sort();
}

export async function openReport(base: string, cc = "IT", asn = "AS30722", testName = "web_connectivity"): Promise<string> {
  const res = await fetch(`${base}/report`, {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": UA },
    body: JSON.stringify({
      data_format_version: "0.2.0", format: "json", probe_asn: asn, probe_cc: cc, software_name: "miniooni",
      software_version: "0.1.0-dev", test_name: testName, test_start_time: "2024-02-14 09:06:17", test_version: "0.4.3",
    }),
  });
  if (res.status !== 200) throw new Error(`open report: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { report_id: string }).report_id;
}
