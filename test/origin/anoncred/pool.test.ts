import { afterEach, describe, expect, it } from "vitest";
import { AnonCredError, AnonCredUnavailable, WorkerPool } from "../../../origin/src/anoncred/pool";
import { anonCredPython, ReferenceClient, SKIP_MESSAGE } from "../../support/anoncred-client";

// The ooniauth-py worker pool on its own: protocol errors come back as what they are, and a worker
// that hangs or dies costs the requests it held (answered "unavailable", never left hanging) and is
// replaced; a full queue refuses at once instead of growing.

const python = anonCredPython();
if (!python) console.warn(`anoncred pool: SKIPPED — ${SKIP_MESSAGE}`);

let pool: WorkerPool | null = null;
afterEach(async () => {
  await pool?.close();
  pool = null;
});

async function until(cond: () => boolean, ms = 10_000) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!python)("anonymous-credentials worker pool", () => {
  it("generates keys and maps the library's exceptions", async () => {
    pool = new WorkerPool({ python: python!, size: 2, timeoutMs: 10_000 });
    const hello = await pool.call<{ library_version: string }>("hello");
    expect(hello.library_version).toBe("0.3.3");
    const keys = await pool.call<{ public_parameters: string; secret_key: string }>("keygen");
    const err = await pool.call("register", { pp: keys.public_parameters, sk: keys.secret_key, request: "AAAA" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AnonCredError);
    expect((err as AnonCredError).kind).toBe("DeserializationFailed");
    const odd = await pool.call("no-such-op").catch((e: unknown) => e);
    expect(odd).toBeInstanceOf(AnonCredUnavailable);
    expect((await pool.call<{ library_version: string }>("hello")).library_version).toBe("0.3.3");
  });

  it("a fresh worker serves keys it did not generate (ooniauth-py needs its basepoints loaded first)", async () => {
    const keygen = new WorkerPool({ python: python!, size: 1, timeoutMs: 10_000 });
    const keys = await keygen.call<{ public_parameters: string; secret_key: string }>("keygen").finally(() => keygen.close());
    const client = new ReferenceClient(python!);
    try {
      await client.call("new", { user: "u", pp: keys.public_parameters });
      const request = await client.call<string>("registration_request", { user: "u" });
      pool = new WorkerPool({ python: python!, size: 1, timeoutMs: 10_000 });
      const r = await pool.call<{ response: string }>("register", { pp: keys.public_parameters, sk: keys.secret_key, request });
      await client.call("registration_response", { user: "u", resp: r.response });
    } finally {
      client.close();
    }
  });

  it("a hung worker times out its request, is replaced, and the next request is answered", async () => {
    // The timeout covers Python's start-up on the first request: generous on a loaded machine.
    pool = new WorkerPool({ python: python!, size: 1, timeoutMs: 3_000, maxQueue: 1 });
    await pool.call("hello");
    const [pid] = pool.pids();
    process.kill(pid!, "SIGSTOP");
    const stuck = pool.call("hello").catch((e: unknown) => e);
    const queued = pool.call<{ library_version: string }>("hello").catch((e: unknown) => e as Error);
    // The queue holds one: a third request is refused at once.
    await expect(pool.call("hello")).rejects.toThrow(/busy/);
    expect(await stuck).toBeInstanceOf(AnonCredUnavailable);
    // The queued one either gave up waiting, or reached the replacement worker and was answered.
    const q = await queued;
    if (q instanceof Error) expect(q).toBeInstanceOf(AnonCredUnavailable);
    else expect(q.library_version).toBe("0.3.3");
    await until(() => pool!.pids().length === 1 && pool!.pids()[0] !== pid);
    expect((await pool.call<{ library_version: string }>("hello")).library_version).toBe("0.3.3");
  });

  it("a worker killed mid-request fails that request only and comes back", async () => {
    pool = new WorkerPool({ python: python!, size: 1, timeoutMs: 10_000 });
    await pool.call("hello");
    const [pid] = pool.pids();
    const keygen = pool.call("keygen").catch((e: unknown) => e);
    process.kill(pid!, "SIGKILL");
    const r = await keygen;
    // Either the worker answered before the signal landed, or the request failed as unavailable.
    if (r instanceof Error) expect(r).toBeInstanceOf(AnonCredUnavailable);
    await until(() => pool!.pids().length === 1 && pool!.pids()[0] !== pid);
    expect((await pool.call<{ library_version: string }>("hello")).library_version).toBe("0.3.3");
  });
});
