import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstream, type Upstream } from "./support";

// ooni/backend api/tests/integ/test_params_validation.py (the legacy Flask API's URL parameter
// parsers, 32d8349d), asked of our routes that take those parameters: report_id on
// measurement_meta, input and domain on the measurement search and aggregation. Upstream calls
// the parser functions directly; the behaviour a client sees is the status of the request.

let u: Upstream;
beforeAll(async () => {
  u = await startUpstream();
});
afterAll(async () => {
  await u?.close();
});

const status = async (p: string) => (await u.req("GET", p)).status;
const q = (k: string, v: string) => new URLSearchParams({ [k]: v }).toString();

describe("legacy parameter validation", () => {
  it("test_param_report_id_missing: measurement_meta without report_id (or uid) is a 400", async () => {
    expect(await status("/api/v1/measurement_meta")).toBe(400);
  });

  it("test_param_report_id_valid / _invalid: a trailing '+' is refused", async () => {
    const rid = "20220816T111242Z_webconnectivity_IR_197207_n1_KJYYCOK8vwUiOBSe";
    expect(await status(`/api/v1/measurement_meta?${q("report_id", rid)}`)).toBe(200);
    expect(await status(`/api/v1/measurements?${q("report_id", rid)}`)).toBe(200);
    const r = await u.req("GET", `/api/v1/measurement_meta?${q("report_id", `${rid}+`)}`);
    expect(r.status).toBe(400);
    expect(r.json.parameter).toBe("report_id");
  });

  it("test_param_url_empty / test_param_input_or_none_invalid: an empty input is no filter", async () => {
    const all = (await u.req("GET", "/api/v1/aggregation?since=2021-07-01&until=2021-07-02")).json.result;
    const empty = (await u.req("GET", "/api/v1/aggregation?since=2021-07-01&until=2021-07-02&input=")).json.result;
    expect(empty).toEqual(all);
    expect(await status("/api/v1/measurements?input=")).toBe(200);
  });

  it("test_param_url_invalid: '(-/' as a URL", async () => {
    // deviation (docs/compat.md, aggregation input characters): any input is a value, matched exactly
    expect(await status(`/api/v1/measurements?${q("input", "(-/")}`)).toBe(200);
  });

  it.each([
    "https://foo.org",
    "http://foo.org",
    "https://8.8.4.4/dns-query",
    "dot://doh-de.blahdns.com/dns-query",
    "dot://8.8.8.8:853/",
    "dot://[2a00:5a60::ad2:0ff]:853",
    "stun://stun.voip.blackberry.com:3478",
    "obfs3 83.212.101.3:80",
    "obfs3 83.212.101.3:80 A09D536DD1752D542E1FBB3C9CE4449D51298239",
    "fte 50.7.176.114:80 2BD466989944867075E872310EBAD65BC88C8AEF",
    "udp://8.8.8.8",
    "scramblesuit 83.212.101.3:443",
    "https://ru.wikipedia.org/wiki/Вторжение_России_на_Украину_(2022)",
    "obfs4 154.35.22.9:80 C73AD cert=gEWN/bS",
    "obfs4 154.35.22.10:40348",
    "1.1.1.1",
    "178.62.197.82:443",
  ])("test_param_input_or_none_valid: %s", async (input) => {
    expect(await status(`/api/v1/measurements?${q("input", input)}`)).toBe(200);
    expect(await status(`/api/v1/aggregation?${q("input", input)}`)).toBe(200);
  });

  it.each(["foo.org", "8.8.4.4", "doh-de.blahdns.com", "8.8.8.8:853", "[2a00:5a60::ad2:0ff]:853", "stun.voip.blackberry.com:3478"])(
    "test_param_domain_or_none_valid: %s",
    async (domain) => {
      expect(await status(`/api/v1/measurements?${q("domain", domain)}`)).toBe(200);
      expect(await status(`/api/v1/aggregation?${q("domain", domain)}`)).toBe(200);
    },
  );
});
