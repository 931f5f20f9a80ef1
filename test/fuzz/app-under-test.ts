import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createApp } from "../../origin/src/app";
import { loadConfig } from "../../origin/src/config";
import { createLogger } from "../../origin/src/logger";
import { openApiDocument } from "../../origin/src/openapi/document";
import { closeServices, openServices, type Services } from "../../origin/src/services";
import { JWT_SECRET, mintToken } from "../origin/auth/support";
import { at, fastpathRow, uidOf, reportOf, type Row } from "../origin/measurements/rows";

// The real origin app with real services (embedded chDB, spool, LMDB quotas) on a temp data
// directory, called in process through app.fetch so that tens of thousands of requests per
// endpoint are affordable. Seeded with a few rows of every kind so fuzzed parameters reach
// ClickHouse and the handlers, not only the validators.

export const EDGE_SECRET = "fuzz-edge-secret-0123456789abcdef";
export const ADMIN_ID = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
export const USER_ID = "0123456789abcdef0123456789abcdef";

const ROWS: Row[] = [
  { id: "A", t: at(1, 10), input: "https://a.example/", anomaly: true },
  { id: "B", t: at(2, 10), asn: 3269, input: "https://b.example/x", anomaly: true, confirmed: true },
  { id: "C", t: at(3, 10), cc: "DE", asn: 3320, test: "ndt", failure: true, runLink: 10001 },
  { id: "D", t: at(4, 10), cc: "IR", asn: 197207, test: "telegram" },
  { id: "E", t: at(5, 10), cc: "RU", asn: 12389, test: "vanilla_tor" },
  { id: "F", t: at(6, 10), cc: "CN", asn: 4134, test: "whatsapp" },
];

export interface Seeds {
  adminBearer: string;
  userBearer: string;
  probeToken: string;
  /** Fastpath rows (no stored body). */
  measurementUids: string[];
  reportIds: string[];
  /** Reports opened through POST /report, and measurements submitted to them (in the spool). */
  openReportIds: string[];
  storedUids: string[];
  oonirunLinkId: string;
  incidentId: string;
}

export interface FuzzOrigin {
  services: Services;
  app: ReturnType<typeof createApp>;
  doc: Record<string, any>;
  seeds: Seeds;
  close(): Promise<void>;
}

async function jsonCall(app: ReturnType<typeof createApp>, method: string, p: string, body: unknown, bearer?: string) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const res = await app.request(p, { method, headers, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`seeding ${method} ${p}: ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, any>;
}

export async function startFuzzOrigin(): Promise<FuzzOrigin> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "ooni-edge-fuzz-"));
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: "silent",
    JWT_SECRET,
    EDGE_SHARED_SECRET: EDGE_SECRET,
    // Quotas stay on (their middleware is part of what is fuzzed) with budgets no run exhausts.
    QUOTA_NETWORK_DAILY_S: "1000000000",
    QUOTA_NETWORK_WEEKLY_S: "1000000000",
    QUOTA_NETWORK_MONTHLY_S: "1000000000",
    QUOTA_ACCOUNT_DAILY_S: "1000000000",
    QUOTA_ACCOUNT_WEEKLY_S: "1000000000",
    QUOTA_ACCOUNT_MONTHLY_S: "1000000000",
    // The fastpath would score every fuzzed submission in the background: the HTTP surface is the
    // subject here, and its CPU is better spent on requests. The seeded rows are inserted directly.
    FASTPATH_ENABLED: "false",
  });
  const services = await openServices(config, createLogger("silent"));
  const app = createApp(services);
  try {
    const db = services.db;
    await db.client.insert({ table: "fastpath", values: ROWS.map(fastpathRow), format: "JSONEachRow" });

    const adminBearer = await mintToken({ accountId: ADMIN_ID, role: "admin" });
    const userBearer = await mintToken({ accountId: USER_ID, role: "user" });

    // A probe: registered and logged in through the API, as ooniprobe does.
    const reg = await jsonCall(app, "POST", "/api/v1/register", { password: "fuzz-probe-password", probe_cc: "IT", probe_asn: "AS30722", platform: "linux", software_name: "ooniprobe-cli", software_version: "3.22.0", supported_tests: ["web_connectivity"] });
    const login = await jsonCall(app, "POST", "/api/v1/login", { username: reg.client_id, password: "fuzz-probe-password" });

    // Two reports opened and one measurement submitted to each, as a probe does.
    const openReportIds: string[] = [];
    const storedUids: string[] = [];
    for (const test_name of ["web_connectivity", "telegram"]) {
      const meta = { probe_cc: "IT", probe_asn: "AS30722", software_name: "ooniprobe-cli", software_version: "3.22.0", test_name };
      const opened = await jsonCall(app, "POST", "/report", { ...meta, data_format_version: "0.2.0", format: "json", test_start_time: "2024-01-01 00:00:00", test_version: "0.4.3" });
      const id = String(opened.report_id);
      const content = { ...meta, report_id: id, test_start_time: "2024-01-01 00:00:00", measurement_start_time: "2024-01-01 00:00:01", input: "https://a.example/", test_keys: {} };
      const stored = await jsonCall(app, "POST", `/report/${id}`, { format: "json", content });
      openReportIds.push(id);
      storedUids.push(String(stored.measurement_uid));
    }

    const link = await jsonCall(
      app,
      "POST",
      "/api/v2/oonirun/links",
      { name: "fuzz link", description: "a link for fuzzing", nettests: [{ test_name: "web_connectivity", inputs: ["https://a.example/"] }] },
      adminBearer,
    );
    const incident = await jsonCall(
      app,
      "POST",
      "/api/v1/incidents/create",
      { title: "fuzz incident", text: "text", start_time: "2024-01-31T00:00:00Z", CCs: ["IT"], ASNs: [30722], domains: ["a.example"], test_names: ["web_connectivity"] },
      adminBearer,
    );

    return {
      services,
      app,
      doc: openApiDocument(app),
      seeds: {
        adminBearer,
        userBearer,
        probeToken: String(login.token),
        measurementUids: ROWS.map(uidOf),
        reportIds: ROWS.map(reportOf),
        openReportIds,
        storedUids,
        oonirunLinkId: String(link.oonirun_link_id),
        incidentId: String(incident.id ?? incident.incident_id ?? incident.incident?.id),
      },
      async close() {
        await closeServices(services);
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await closeServices(services);
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}
