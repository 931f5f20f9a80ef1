import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

// /api/v1/detector/changepoints through the bridge (workerd, bridge-config/bridge.toml, the real
// origin): cached at the edge like the aggregations; a bad parameter is a 400 JSON error.
// What the detector finds is tested against the origin (test/origin/changepoints/).

const worker = exports.default;

describe("changepoints through the edge", () => {
  it("answers upstream's shape and serves the second identical request from the edge cache", async () => {
    const host = `${crypto.randomUUID().slice(0, 8)}.changepoints.example`;
    const url = `https://${host}/api/v1/detector/changepoints?probe_cc=IT&since=2020-01-01&until=2020-02-01`;
    const first = await worker.fetch(url);
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toMatch(/^application\/json/);
    const body = await first.text();
    expect(JSON.parse(body)).toEqual({ results: [] });
    expect(first.headers.get("x-cache")).toBe("MISS");
    const second = await worker.fetch(url);
    expect(second.status).toBe(200);
    expect(second.headers.get("x-cache")).toBe("HIT");
    expect(await second.text()).toBe(body);
  });

  it("a bad parameter is a 400 JSON error", async () => {
    for (const q of ["probe_cc=italy", "probe_asn=ASX", "since=last-week"]) {
      const res = await worker.fetch(`https://bad.changepoints.example/api/v1/detector/changepoints?${q}`);
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { error: string }).error, q).toEqual(expect.any(String));
    }
  });
});
