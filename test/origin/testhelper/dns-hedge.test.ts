import { describe, expect, it } from "vitest";
import { startTestHelper, type Resolver } from "../../../origin/src/testhelper";
import { HEDGE_WHILE_OUTSTANDING_BELOW, hedgedLookup, outstandingLookups } from "../../../origin/src/testhelper/dns-hedge";
import { FAILURE, OoniFailure } from "../../../origin/src/testhelper/failures";
import { postControl, startHttpTarget } from "./fixtures";

// A slow or flaky resolver must not become "DNS blocking" in the control (issue 17: 5 of 187 slow
// lookups came back as dns: unknown_error and the probe reported blocking: dns).

const err = (code: string) => Object.assign(new Error(code), { code });
const never = () => new Promise<string[]>(() => undefined);
const live = () => new AbortController().signal;

/** A resolver scripted per call: each entry answers one call, the last one all later calls. */
function scripted(...answers: (() => Promise<string[]>)[]): Resolver & { calls: number } {
  const r = Object.assign(
    async () => {
      const i = Math.min(r.calls, answers.length - 1);
      r.calls++;
      return answers[i]!();
    },
    { calls: 0 },
  );
  return r;
}

describe("hedged lookup", () => {
  it("asks again while a slow first attempt is still out, and takes the first answer", async () => {
    const r = scripted(never, async () => ["192.0.2.1"]);
    await expect(hedgedLookup(r, "slow.example", live(), { budgetMs: 2_000, hedgeAtMs: [50] })).resolves.toEqual(["192.0.2.1"]);
    expect(r.calls).toBe(2);
  });

  it("retries after a transient failure", async () => {
    const r = scripted(() => Promise.reject(err("EAI_AGAIN")), async () => ["192.0.2.2"]);
    await expect(hedgedLookup(r, "flaky.example", live(), { budgetMs: 2_000, hedgeAtMs: [] })).resolves.toEqual(["192.0.2.2"]);
  });

  it("believes NXDOMAIN at once: the name really fails", async () => {
    const r = scripted(() => Promise.reject(err("ENOTFOUND")));
    await expect(hedgedLookup(r, "nx.example", live(), { budgetMs: 2_000, hedgeAtMs: [50] })).rejects.toMatchObject({ code: "ENOTFOUND" });
    expect(r.calls).toBe(1);
  });

  it("reports the last transient failure once the budget is spent", async () => {
    const r = scripted(() => Promise.reject(err("EAI_AGAIN")));
    await expect(hedgedLookup(r, "down.example", live(), { budgetMs: 800, hedgeAtMs: [] })).rejects.toMatchObject({ code: "EAI_AGAIN" });
    expect(r.calls).toBeGreaterThan(1);
  });

  it("times out when nothing ever answers", async () => {
    const e = await hedgedLookup(scripted(never), "void.example", live(), { budgetMs: 200, hedgeAtMs: [50] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OoniFailure);
    expect((e as OoniFailure).failure).toBe(FAILURE.genericTimeout);
  });

  it("does not hedge while the resolver is already busy (getaddrinfo's 4 pool threads)", async () => {
    const stuck: (() => void)[] = [];
    const hang = () => new Promise<string[]>((_res, rej) => stuck.push(() => rej(err("EAI_AGAIN"))));
    const busy = Array.from({ length: HEDGE_WHILE_OUTSTANDING_BELOW }, (_, i) =>
      hedgedLookup(scripted(hang), `busy${i}.example`, live(), { budgetMs: 300, hedgeAtMs: [] }).catch(() => undefined),
    );
    const r = scripted(never, async () => ["192.0.2.9"]);
    const e = await hedgedLookup(r, "queued.example", live(), { budgetMs: 300, hedgeAtMs: [50] }).catch((x: unknown) => x);
    expect(r.calls).toBe(1); // no hedge: it would only have queued behind the others
    expect((e as OoniFailure).failure).toBe(FAILURE.genericTimeout);
    for (const release of stuck) release();
    await Promise.all(busy);
  });

  it("stops when the caller goes away", async () => {
    const ac = new AbortController();
    const p = hedgedLookup(scripted(never), "gone.example", ac.signal, { budgetMs: 5_000 });
    ac.abort(new OoniFailure(FAILURE.interrupted));
    await expect(p).rejects.toMatchObject({ failure: FAILURE.interrupted });
  });
});

describe("a slow first lookup through the whole helper", () => {
  it("is not reported as a DNS failure, and the fetch uses the same answer", async () => {
    const target = await startHttpTarget();
    // The first getaddrinfo takes longer than oohelperd's 4 s; asking again answers at once.
    const r = scripted(() => new Promise((res) => setTimeout(() => res(["127.0.0.1"]), 6_000)), async () => ["127.0.0.1"]);
    const th = await startTestHelper({ port: 0, allowLoopback: true, resolver: r });
    try {
      const { json } = await postControl(th.url, { http_request: `http://slow-name.test:${target.port}/`, http_request_headers: {}, tcp_connect: [] });
      expect(json.dns).toEqual({ failure: null, addrs: ["127.0.0.1"] });
      expect(json.http_request).toMatchObject({ failure: null, status_code: 200 });
      // One lookup and one hedge, shared by the DNS step and the fetch.
      expect(r.calls).toBe(2);
    } finally {
      await th.close();
      await target.close();
    }
  });
});
