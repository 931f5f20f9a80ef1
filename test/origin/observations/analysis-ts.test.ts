import { describe, expect, it } from "vitest";
import { queryRows, type Database } from "../../../origin/src/db/clickhouse";
import { tsvRows } from "../../../origin/src/db/tab-separated";
import { addControlRow, addWebRow, emptyWindow, hostKey, mergeWindow, overlay, viewOf, windowDay } from "../../../origin/src/analysis/ground-truth";
import { LiveAnalysis } from "../../../origin/src/analysis/live";
import { DNS_RULES, TCP_RULES, TLS_RULES, runLayer, type RowInputs } from "../../../origin/src/analysis/rules";
import { dayWindows, runWebAnalysis } from "../../../origin/src/analysis/store";
import { ANALYSIS_COLUMNS } from "../../../origin/src/analysis/table";
import { analyseMeasurement, urlDomain } from "../../../origin/src/analysis/web";
import type { MeasurementObservations, WebControlObservationRow, WebObservationRow } from "../../../origin/src/observations";
import { ObservationWriter } from "../../../origin/src/observations/writer";
import { useTempDb } from "../../support/temp-db";
import { START, wcUid as uid, observed, wcMeasurement as measurement } from "./web-connectivity-fixture";

// The web analysis in TypeScript (analysis/web.ts, ground-truth.ts, live.ts): its pieces, and a
// differential test against the ClickHouse statement it replaces in the live path (query.ts, still
// what `analysis reprocess` runs) over randomized observation rows — every NULL and edge the
// rules can meet, not only what real measurements contain. The conformance test holds both to
// upstream's rows.

const noFingerprints = { fingerprint: () => undefined };

/** The analysis of one measurement with the ground truth of these measurements (a whole day). */
function analyseWith(target: MeasurementObservations, day: MeasurementObservations[]) {
  const w = emptyWindow();
  for (const o of day) {
    for (const r of o.ctrl) addControlRow(w, r);
    for (const r of o.web) addWebRow(w, r);
  }
  return analyseMeasurement(target.web, { truth: viewOf(w), ...noFingerprints });
}

const inputs = (over: Partial<RowInputs>): RowInputs => ({
  dns_engine: "system", dns_failure: null, dns_answers_count: 1, dns_blocking_country_consistent: false, dns_tls_consistent: false,
  dns_tls_inconsistent: false, dns_answer_matches_ctrl: false, dns_answer_asn_matches_ctrl: false, dns_answers_contain_bogon: 0,
  ctrl_dns_success_rate: NaN, tcp_success: null, tcp_failure: null, ip_is_v6: 0, tcp_ipv6_failure_rate: NaN,
  ctrl_tcp_success_rate: 0, ctrl_tcp_success_count: 0, ctrl_tcp_failing_count: 0, tls_is_certificate_valid: null, tls_failure: null,
  ctrl_tls_success_rate: 0, ctrl_tls_success_count: 0, ctrl_tls_failing_count: 0,
  dns_blocked: 0, dns_down: 0, dns_ok: 0, tcp_blocked: 0, tcp_down: 0, tcp_ok: 0, ...over,
});

describe("web analysis in TypeScript: the pieces", () => {
  it("rule cascades follow SQL's NULL logic (a comparison with NULL or 0/0 is false)", () => {
    // tcp_success NULL: `tcp_success != 1` is NULL in SQL, so not no_tcp_data; nothing else fires.
    expect(runLayer(TCP_RULES, inputs({})).rule_id).toBe("none");
    expect(runLayer(TCP_RULES, inputs({ tcp_success: 0 })).rule_id).toBe("no_tcp_data");
    // …but an untrusted DNS answer discards it.
    expect(runLayer(TCP_RULES, inputs({ dns_blocked: 0.75, dns_ok: 0.25 })).rule_id).toBe("dns_untrusted");
    // No control for the hostname: the success rate is 0/0, neither <= 0.5 nor > 0.5.
    expect(runLayer(DNS_RULES, inputs({ dns_failure: "dns_nxdomain_error" })).rule_id).toBe("dns_system_failure_no_ctrl");
    expect(runLayer(DNS_RULES, inputs({ dns_failure: "dns_nxdomain_error", ctrl_dns_success_rate: 1 })).rule_id).toBe("dns_system_failure_ctrl_ok");
    expect(runLayer(DNS_RULES, inputs({ dns_engine: null, dns_answers_count: 1 })).rule_id).toBe("none");
    // A row without an address (NULL map key): no control verdict.
    expect(runLayer(TLS_RULES, inputs({ tls_failure: "ssl_invalid_hostname", ctrl_tls_success_rate: null, ctrl_tls_success_count: null })).rule_id).toBe("none");
    expect(runLayer(TLS_RULES, inputs({ tls_failure: "ssl_invalid_hostname", ctrl_tls_success_rate: 1, ctrl_tls_success_count: 2 }))).toMatchObject({ rule_id: "failure_ctrl_ok_ssl", blocked: 0.9 });
    expect(runLayer(TCP_RULES, inputs({ tcp_failure: "generic_timeout_error", ip_is_v6: 1, tcp_ipv6_failure_rate: 1 })).rule_id).toBe("ipv6_broken_probe");
  });

  it("domain() as ClickHouse's: scheme, userinfo, port and path stripped", () => {
    expect(urlDomain("https://www.example.com/a?b")).toBe("www.example.com");
    expect(urlDomain("http://user:pw@example.org:8080/")).toBe("example.org");
    expect(urlDomain("http://[2001:db8::1]:80/x")).toBe("[2001:db8::1]");
    expect(urlDomain("example.net/path")).toBe("example.net");
    expect(urlDomain("")).toBe("");
  });

  it("batch windows are upstream's (day, next day]: midnight exactly belongs to the day before", () => {
    expect(windowDay("2024-05-01 10:00:00.000")).toBe("2024-05-01");
    expect(windowDay("2024-05-01 00:00:00.000")).toBe("2024-04-30");
    expect(windowDay("2024-05-01 00:00:00.001")).toBe("2024-05-01");
    expect(dayWindows(["2024-05-01 00:00:00.000"])[0]!.day).toBe("2024-04-30");
  });

  it("verdicts from the day's ground truth: another probe's control can vouch for an answer", () => {
    const a = observed(1, measurement(1, "d.example", { ip: "93.184.215.10" }, ["93.184.215.11"]));
    const b = observed(2, measurement(2, "d.example", { ip: "93.184.215.10" }, ["93.184.215.10"]));
    expect(analyseWith(a, [a])).toMatchObject({ top_dns_rule_id: "dns_system_answer_unmatched", dns_blocked: 0.75, top_tcp_rule_id: "connect_ok", domain: "d.example" });
    expect(analyseWith(a, [a, b])).toMatchObject({ top_dns_rule_id: "answer_matches_ctrl", dns_ok: 0.9, top_tcp_rule_id: "connect_ok", tcp_ok: 1 });
    const bogon = observed(3, measurement(3, "e.example", { ip: "10.10.34.36", tcp: false }, ["93.184.215.1"]));
    expect(analyseWith(bogon, [bogon])).toMatchObject({ top_dns_rule_id: "bogon_not_in_ctrl", dns_blocked: 0.95, top_tcp_failure: "connection_reset" });
    const nx = observed(4, measurement(4, "f.example", { failure: "dns_nxdomain_error" }, ["93.184.215.2"]));
    expect(analyseWith(nx, [nx])).toMatchObject({ top_dns_rule_id: "dns_system_failure_ctrl_ok", dns_blocked: 0.9, top_dns_failure: "dns_nxdomain_error" });
  });

  it("a DNS blockpage fingerprint of the probe's country is blocking; a false-positive one is not", () => {
    const m = observed(5, measurement(5, "g.example", { ip: "93.184.215.99" }, ["93.184.215.5"]));
    const w = emptyWindow();
    for (const r of m.ctrl) addControlRow(w, r);
    const fp = (scope: string) => ({ fingerprint: (a: string) => (a === "93.184.215.99" ? { countries: ["DE", "IT"], scope } : undefined) });
    expect(analyseMeasurement(m.web, { truth: viewOf(w), ...fp("nat") })).toMatchObject({ top_dns_rule_id: "country_consistent_blockpage", dns_blocked: 1 });
    expect(analyseMeasurement(m.web, { truth: viewOf(w), ...fp("fp") })).toMatchObject({ top_dns_rule_id: "dns_system_answer_unmatched" });
  });

  it("top failures are ClickHouse's anyHeavy: the majority vote in row order (no majority: whatever the order leaves)", () => {
    const m = observed(6, measurement(6, "h.example", { ip: "93.184.215.6" }, ["93.184.215.6"]));
    const row = m.web.find((r) => r.tcp_success !== null)!;
    const top = (fs: (string | null)[]) =>
      analyseMeasurement(fs.map((f, i) => ({ ...row, observation_idx: i, tcp_failure: f, tcp_success: 0 })), { truth: viewOf(emptyWindow()), ...noFingerprints })!.top_tcp_failure;
    expect(top(["a", "b", "a", null, "c", "a"])).toBe("a");
    expect(top(["a", "b", "b", "a", "c", "a"])).toBe("c"); // 'a' is no majority (3 of 6)
    expect(top([null, null])).toBeNull();
  });

  it("a batch is analysed with its own rows on top of the base, which changes only on commit", () => {
    const base = emptyWindow();
    const delta = emptyWindow();
    for (const r of observed(7, measurement(7, "i.example", {}, ["93.184.215.7"])).ctrl) addControlRow(delta, r);
    const key = hostKey("2024-05-01", "i.example");
    expect(overlay(base, delta).host(key)?.dnsSuccesses).toBe(1);
    expect(base.hosts.has(key)).toBe(false);
    mergeWindow(base, delta);
    mergeWindow(base, emptyWindow());
    expect(base.hosts.get(key)?.dnsSuccesses).toBe(1);
    expect(overlay(base, delta).host(key)?.dnsSuccesses).toBe(2);
  });

  it("TabSeparated: escapes, NULLs and arrays", () => {
    expect(tsvRows(["a", "b", "c", "d"], [{ a: "x\ty\\z\n", b: null, c: ["it's", "a\\b"], d: 1.5 }])).toBe("x\\ty\\\\z\\n\t\\N\t['it\\\\'s','a\\\\\\\\b']\t1.5\n");
  });
});

describe("web analysis in TypeScript: with ClickHouse", () => {
  let db: Database;
  useTempDb("analysis-ts", (d) => (db = d));


  const analysisOf = async (n: number) =>
    (await queryRows<Record<string, unknown>>(db, "SELECT * FROM analysis_web_measurement FINAL WHERE measurement_uid = {u:String}", { u: uid(n) }))[0];

  it("after a restart the ground truth stored so far that day is loaded; a retried batch or a measurement stored again counts once", async () => {
    const m10 = observed(10, measurement(10, "j.example", { ip: "93.184.215.20" }, ["93.184.215.20"]));
    await new ObservationWriter(db, null).write([m10]);
    // A new process: its first batch of the day sees what the previous one stored.
    const live = new LiveAnalysis(db);
    const m = observed(11, measurement(11, "j.example", { ip: "93.184.215.20" }, ["93.184.215.21"]));
    const first = await live.analyse([m]);
    expect(first.rows[0]).toMatchObject({ top_dns_rule_id: "answer_matches_ctrl" });
    // Not committed (the INSERT failed): the retry sees the same ground truth, not its own rows twice.
    const again = await live.analyse([m]);
    expect(again.rows).toEqual(first.rows);
    const w = (await (live as unknown as { windows: Map<string, Promise<ReturnType<typeof emptyWindow>>> }).windows.get("2024-05-01"))!;
    expect(w.hosts.get(hostKey("2024-05-01", "j.example"))!.dnsSuccesses).toBe(1);
    again.commit();
    expect(w.hosts.get(hostKey("2024-05-01", "j.example"))!.dnsSuccesses).toBe(2);
    // A measurement stored again (fastpath reprocess, a batch retried after a restart) replaces
    // its rows in ClickHouse; here it is not counted a second time.
    const restored = await live.analyse([m10]);
    restored.commit();
    expect(restored.rows[0]).toMatchObject({ measurement_uid: uid(10), top_dns_rule_id: "answer_matches_ctrl" });
    expect(w.hosts.get(hostKey("2024-05-01", "j.example"))!.dnsSuccesses).toBe(2);
  });

  it("the writer stores each batch's analysis rows with its observations", async () => {
    await new ObservationWriter(db, null).write([observed(12, measurement(12, "k.example", { ip: "10.0.0.1", tcp: false }, ["93.184.215.30"]))]);
    expect(await analysisOf(12)).toMatchObject({ top_dns_rule_id: "bogon_not_in_ctrl", dns_blocked: 0.95, analysis_rules_version: 2, probe_cc: "IT" });
  });

  it("differential: over randomized observation rows the TypeScript analysis gives the SQL statement's rows exactly", async () => {
    for (const t of ["obs_web", "obs_web_ctrl", "analysis_web_measurement"]) await db.client.command({ query: `TRUNCATE TABLE ${t}` });
    await db.client.insert({
      table: "fingerprints_dns",
      format: "JSONEachRow",
      values: [
        { name: "fp_it", scope: "nat", other_names: "", location_found: "dns", pattern_type: "full", pattern: "10.0.0.3", confidence_no_fp: 5, expected_countries: "IT, DE", source: "", exp_url: "", notes: "" },
        { name: "fp_fp", scope: "fp", other_names: "", location_found: "dns", pattern_type: "full", pattern: "93.184.215.3", confidence_no_fp: 5, expected_countries: "IT", source: "", exp_url: "", notes: "" },
      ],
    });
    const batch = randomBatch(400, 21);
    await new ObservationWriter(db, null).write(batch);
    const cols = ANALYSIS_COLUMNS.map(([n]) => n).join(", ");
    const read = () => queryRows<Record<string, unknown>>(db, `SELECT ${cols} FROM analysis_web_measurement FINAL ORDER BY measurement_uid`);
    const ts = await read();
    await db.client.command({ query: "TRUNCATE TABLE analysis_web_measurement" });
    for (const w of dayWindows([`${START}.000`])) await runWebAnalysis(db, { since: w.since, until: w.until });
    const sql = await read();
    expect(ts.length).toBe(400);
    const rules = new Set(ts.flatMap((r) => [r.top_dns_rule_id, r.top_tcp_rule_id, r.top_tls_rule_id]));
    expect(rules.size).toBeGreaterThan(15); // the rows reach most rules
    // anyHeavy without a majority depends on the order ClickHouse feeds rows to it (its window
    // sorts are not stable): there any of the measurement's values is right (docs/compat.md).
    const rowsOf = new Map(batch.map((o) => [o.measurement_uid, o.web]));
    const HEAVY: Record<string, keyof WebObservationRow> = { top_probe_analysis: "probe_analysis", top_dns_failure: "dns_failure", top_tcp_failure: "tcp_failure", top_tls_failure: "tls_failure" };
    let unordered = 0;
    for (let i = 0; i < sql.length; i++) {
      const a = { ...ts[i]! };
      const b = { ...sql[i]! };
      for (const [field, col] of Object.entries(HEAVY)) {
        if (a[field] === b[field]) continue;
        const values = rowsOf.get(b.measurement_uid as string)!.map((r) => r[col]).filter((v) => v !== null);
        const majority = values.find((v) => values.filter((x) => x === v).length * 2 > values.length);
        expect(majority, `${String(b.measurement_uid)}.${field}`).toBeUndefined();
        expect(values).toContain(a[field]);
        expect(values).toContain(b[field]);
        unordered++;
        delete a[field];
        delete b[field];
      }
      expect(a, String(sql[i]!.measurement_uid)).toEqual(b);
    }
    expect(ts.length).toBe(sql.length);
    console.log(`differential: ${sql.length} measurements, ${rules.size} distinct rules, ${unordered} anyHeavy picks without a majority`);
  });
});

/** Measurements whose rows take every value the rules distinguish, NULLs included (seeded). */
function randomBatch(n: number, seed: number): MeasurementObservations[] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const template = observed(0, measurement(0, "t.example", { ip: "93.184.215.1" }, ["93.184.215.1"]));
  const web0 = template.web.find((r) => r.tcp_success !== null)!;
  const ctrl0 = template.ctrl[0]!;
  const hosts = ["a.example", "b.example", "c.example"];
  const ips = ["93.184.215.1", "93.184.215.2", "93.184.215.3", "10.0.0.3", "2001:db8::1", "2001:db8::2", "not-an-ip"];
  const out: MeasurementObservations[] = [];
  for (let m = 0; m < n; m++) {
    const u = uid(1000 + m);
    const host = pick([...hosts, null, null]);
    const report = pick(["R1", "R2", "R3"]);
    const cc = pick(["IT", "DE"]);
    const web: WebObservationRow[] = [];
    const rows = 1 + Math.floor(rnd() * 6);
    for (let i = 0; i < rows; i++) {
      const ip = pick([...ips, null]);
      web.push({
        ...web0,
        measurement_uid: u, report_id: report, observation_idx: i, hostname: host ?? pick([null, "b.example"]),
        input: host ? `https://${host}/` : "https://x.example/", probe_cc: cc,
        ip, dns_answer: pick([ip, null]), dns_engine: pick(["system", "getaddrinfo", "udp", null]),
        dns_failure: pick([null, null, "dns_nxdomain_error", "generic_timeout_error"]),
        ip_asn: pick([null, 0, 13335, 64512]), ip_is_bogon: pick([null, 0, 1]),
        tcp_success: pick([null, 0, 1]), tcp_failure: pick([null, null, "connection_reset", "generic_timeout_error"]),
        tls_is_certificate_valid: pick([null, 0, 1]), tls_failure: pick([null, null, "ssl_invalid_hostname", "ssl_unknown_authority", "connection_reset", "generic_timeout_error", "ssl"]),
        probe_analysis: pick([null, "down", "blocked", "ok"]),
      });
    }
    const ctrl: WebControlObservationRow[] = [];
    const crows = Math.floor(rnd() * 4);
    for (let i = 0; i < crows; i++) {
      const ok = pick([null, 0, 1]);
      ctrl.push({
        ...ctrl0,
        measurement_uid: u, report_id: report, observation_idx: i, hostname: pick(hosts), ip: pick(ips.slice(0, 6)),
        dns_success: pick([null, 0, 1]), dns_failure: pick([null, null, "dns_nxdomain_error"]), ip_asn: pick([null, 0, 13335, 64512]),
        tcp_success: ok, tcp_failure: ok === 0 ? "connection_reset" : null,
        tls_success: pick([null, 0, 1]), tls_failure: pick([null, "ssl_invalid_hostname", "connection_reset", "ssl"]),
      });
    }
    out.push({ measurement_uid: u, web, ctrl, middlebox: [] });
  }
  return out;
}
