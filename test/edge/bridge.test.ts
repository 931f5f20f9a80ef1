import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ROBOTS_TXT } from "#shared/robots";

// The real Worker, in workerd, forwarding to a real origin on loopback (see the globalSetup).
const worker = exports.default;

function randomHost() {
  return `${crypto.randomUUID().slice(0, 8)}.bridge-${Math.floor(Math.random() * 1e6)}.example`;
}

describe("edge bridge", () => {
  it("serves robots.txt itself on any hostname", async () => {
    for (const host of ["anything-at-all.example", randomHost(), "127.0.0.1:8787", "xn--bcher-kva.example"]) {
      const res = await worker.fetch(`https://${host}/robots.txt`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
      expect(res.headers.get("cache-control")).toBe("public, max-age=86400");
      expect(await res.text()).toBe(ROBOTS_TXT);
    }
  });

  it("forwards everything else to the origin, whatever the hostname", async () => {
    const a = await worker.fetch(`https://${randomHost()}/health`);
    const b = await worker.fetch(`http://another.name.test/health`);
    for (const res of [a, b]) {
      expect(res.status).toBe(200);
      const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean }> };
      expect(body.status).toBe("ok");
      expect(body.checks.database!.ok).toBe(true);
      expect(body.checks.blob_store!.ok).toBe(true);
    }
  });

  it("keeps method, path, query and body, and answers origin errors as JSON", async () => {
    const res = await worker.fetch(`https://${randomHost()}/no/such/path?x=1&y=%2F`, {
      method: "POST",
      body: JSON.stringify({ hello: "world" }),
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    expect(await res.json()).toEqual({ error: "not found", path: "/no/such/path" });
  });

  it("passes the request id through so logs on both sides match", async () => {
    const res = await worker.fetch(`https://${randomHost()}/health`, { headers: { "x-request-id": "probe-req-1234" } });
    await res.arrayBuffer();
    expect(res.headers.get("x-request-id")).toBe("probe-req-1234");
  });
});
