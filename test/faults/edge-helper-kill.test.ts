import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { helperPool, startEdgeProcess, type EdgeProcess } from "../contract/edge-process";
import { report, scale } from "../support/reliability";
import { startSlowSite, type SlowSite } from "../support/slow-site";
import { startHelperProcess, type HelperProcess } from "../support/testhelper-process";
import { controlBody, controlRequest, type ControlAnswer } from "../support/th-client";

// A test helper SIGKILLed while probes' control requests are in flight: three real helpers (their
// own processes) behind the real Worker under `wrangler dev`, many probe networks sending
// web-connectivity control requests for a loopback site that answers slowly. Every request gets a
// 200 (the next helper, by failover) or a JSON error within the budget — never a hang; only the
// dead helper's networks move (to their runner-up), and they come back when it does.

const CLIENTS = scale(36, 120);
const STORM_BEFORE_KILL_MS = scale(1_500, 5_000);
const STORM_AFTER_KILL_MS = scale(5_000, 40_000);
const ATTEMPT_TIMEOUT_MS = 5_000;
const BUDGET_MS = 12_000;
/** A request still open this long after it started counts as hung. */
const HANG_LIMIT_MS = BUDGET_MS + 5_000;
const STATUS_TOKEN = randomBytes(16).toString("hex");

let site: SlowSite;
let helpers: HelperProcess[] = [];
let edge: EdgeProcess;
let body: string;

const clientIp = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.${1 + (i % 200)}`;

async function route(ip: string): Promise<string[]> {
  const res = await fetch(`${edge.url}/__bridge/route?ip=${ip}`, { headers: { authorization: `Bearer ${STATUS_TOKEN}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { failover_order: string[] }).failover_order;
}

async function healthRound(): Promise<void> {
  const res = await fetch(`${edge.url}/cdn-cgi/handler/scheduled`, { signal: AbortSignal.timeout(20_000) });
  await res.arrayBuffer();
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  site = await startSlowSite(150, 600);
  body = controlBody(site.url, site.endpoint);
  helpers = await Promise.all([0, 1, 2].map(() => startHelperProcess()));
  edge = await startEdgeProcess({
    originUrl: "http://127.0.0.1:9", // helper traffic never reaches the origin
    edgeSecret: randomBytes(24).toString("hex"),
    testScheduled: true,
    noInspector: true,
    // workerd without wrangler's dev proxy in front, whose hop occasionally breaks under a burst
    // (test/support/wrangler-dev-main.ts): every failure left is then the Worker's.
    runtime: "miniflare",
    configure: (c) => ({
      ...c,
      admin: { ...c.admin, status_token: STATUS_TOKEN },
      state: { ...c.state, sync_interval_ms: 500 },
      helpers: {
        ...c.helpers,
        attempt_timeout_ms: ATTEMPT_TIMEOUT_MS,
        budget_ms: BUDGET_MS,
        pool: helperPool(helpers.map((h) => h.url)),
      },
    }),
  });
}, 120_000);

afterAll(async () => {
  await edge?.stop();
  await Promise.all(helpers.map((h) => h.stop()));
  await site?.close();
});

interface Sent extends ControlAnswer {
  client: number;
  startedAt: number;
  endedAt: number;
}

describe("a test helper SIGKILLed mid-request", () => {
  it("answers every request (failover or JSON error), never hangs, and moves only the dead helper's networks", async () => {
    const order = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => route(clientIp(i))));
    for (const o of order) expect(o).toHaveLength(3);
    const share = new Map<string, number>();
    for (const o of order) share.set(o[0]!, (share.get(o[0]!) ?? 0) + 1);
    // The victim: the helper with the most networks.
    const victimId = [...share.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    const victim = helpers[Number(victimId.slice(3))]!;

    const sent: Sent[] = [];
    const inFlight = new Map<number, number>(); // client → requests open now
    let stopAt = Number.POSITIVE_INFINITY;
    let killedAt = Number.POSITIVE_INFINITY;
    let deadAt = Number.POSITIVE_INFINITY;
    const client = async (i: number) => {
      while (performance.now() < stopAt) {
        const startedAt = performance.now();
        inFlight.set(i, (inFlight.get(i) ?? 0) + 1);
        const a = await controlRequest(edge.url, clientIp(i), body, HANG_LIMIT_MS);
        inFlight.set(i, inFlight.get(i)! - 1);
        sent.push({ ...a, client: i, startedAt, endedAt: performance.now() });
      }
    };
    const t0 = performance.now();
    stopAt = t0 + STORM_BEFORE_KILL_MS + STORM_AFTER_KILL_MS;
    const storm = Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
    await new Promise((r) => setTimeout(r, STORM_BEFORE_KILL_MS));
    const victimInFlight = order.reduce((n, o, i) => n + (o[0] === victimId ? (inFlight.get(i) ?? 0) : 0), 0);
    killedAt = performance.now();
    await victim.kill();
    deadAt = performance.now();
    await storm;

    // Never a hang, never a broken connection to the bridge; every answer a 200 or a JSON error.
    const hung = sent.filter((s) => s.hung).length;
    const transport = sent.filter((s) => s.transportError !== null);
    const ok = sent.filter((s) => s.status === 200);
    const jsonErrors = sent.filter((s) => s.status >= 400 && typeof s.json?.error === "string");
    const maxMs = Math.max(...sent.map((s) => s.ms));
    // In flight to the victim when it was killed. Those whose answer the edge had already read
    // before the kill come from the victim (however late they reach the client); the rest were
    // answered by another helper.
    const cutByKill = sent.filter((s) => s.startedAt < killedAt && s.endedAt > killedAt && order[s.client]![0] === victimId);
    const rescued = cutByKill.filter((s) => s.status === 200 && s.helper !== victimId);
    const failedOver = sent.filter((s) => s.status === 200 && s.attempts > 1);
    report("edge-helper-kill", "sigkill one of 3 helpers under load", {
      clients: CLIENTS,
      sent: sent.length,
      answered_200: ok.length,
      json_errors: jsonErrors.length,
      hung,
      transport_errors: transport.length,
      victim_in_flight_at_kill: victimInFlight,
      victim_in_flight_answered: cutByKill.length,
      victim_in_flight_failed_over: rescued.length,
      failed_over: failedOver.length,
      max_latency_ms: Math.round(maxMs),
    });
    if (transport.length + jsonErrors.length > 0) {
      console.log(`edge process: exit code ${edge.child.exitCode}, signal ${edge.child.signalCode}; JSON errors: ${JSON.stringify(jsonErrors.slice(0, 3).map((s) => s.json))}`);
      console.log(edge.logs.filter((l) => l.trim()).slice(-40).join("\n"));
    }
    expect(hung).toBe(0);
    expect(transport.map((t) => `${t.transportError} at ${Math.round(t.startedAt - killedAt)} ms from the kill`).slice(0, 20)).toEqual([]);
    expect(ok.length + jsonErrors.length).toBe(sent.length);
    expect(victimInFlight).toBeGreaterThan(0);
    expect(maxMs).toBeLessThan(BUDGET_MS + 2_000);
    // Two helpers are left and each request may try three: failover answers all of them.
    expect(jsonErrors.map((s) => s.json)).toEqual([]);
    for (const s of ok) expect(s.json).toHaveProperty("http_request.status_code", 200);
    // The kill did cut requests, and another helper answered them.
    expect(rescued.length).toBeGreaterThan(0);

    // Stickiness: survivors' networks kept their helper throughout; the victim's networks were
    // served by it before the kill and by their runner-up after.
    let moved = 0;
    let stayed = 0;
    for (let i = 0; i < CLIENTS; i++) {
      const mine = ok.filter((s) => s.client === i);
      expect(mine.length).toBeGreaterThan(0);
      if (order[i]![0] !== victimId) {
        stayed++;
        for (const s of mine) expect(s.helper, `network ${clientIp(i)}`).toBe(order[i]![0]);
      } else {
        moved++;
        for (const s of mine) {
          if (s.endedAt < killedAt) expect(s.helper).toBe(victimId);
          if (s.startedAt > deadAt) expect(s.helper, `network ${clientIp(i)} after the kill`).toBe(order[i]![1]);
        }
      }
    }
    report("edge-helper-kill", "stickiness", { networks_stayed: stayed, networks_moved: moved, victim: victimId });
    expect(moved).toBe(share.get(victimId));

    // The helper comes back on its port; two health rounds (rise = 2) and exactly its networks return.
    helpers[Number(victimId.slice(3))] = await startHelperProcess(victim.port);
    await healthRound();
    await healthRound();
    await new Promise((r) => setTimeout(r, 1_000)); // one state sync interval
    const back = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => controlRequest(edge.url, clientIp(i), body, HANG_LIMIT_MS)));
    for (const [i, a] of back.entries()) {
      expect(a.status).toBe(200);
      expect(a.helper, `network ${clientIp(i)} after the helper returned`).toBe(order[i]![0]);
    }
    report("edge-helper-kill", "helper restarted", { networks_returned: back.filter((a, i) => order[i]![0] === victimId && a.helper === victimId).length });
  });
});
