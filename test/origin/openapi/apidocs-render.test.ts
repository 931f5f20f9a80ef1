import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOriginProcess, type OriginProcess } from "../../support/origin-process";

// /apidocs in a real browser: Swagger UI must load (from this origin only: no CDN) and render the
// API's operations from /apispec.json.

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`skipping the /apidocs rendering test: no Chromium at ${CHROMIUM} (apt-get install chromium)`);

describe.skipIf(!haveChromium)("/apidocs in Chromium", () => {
  let origin: OriginProcess;
  let browser: Browser;

  beforeAll(async () => {
    origin = await startOriginProcess();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await origin?.stop();
    origin?.cleanup();
  });

  it("renders every operation from the spec, loading nothing from elsewhere", async () => {
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on("request", (r) => requested.push(r.url()));
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));

    await page.goto(`${origin.url}/apidocs`);
    await page.locator(".swagger-ui .info .title").filter({ hasText: "OONI API (ooni-edge origin)" }).waitFor({ timeout: 30_000 });
    await page.locator(".opblock-summary-path").first().waitFor();

    const spec = (await (await fetch(`${origin.url}/apispec.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(spec.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    expect(await page.locator(".opblock").count()).toBe(operations);
    const shown = await page.locator(".opblock-summary-path").allTextContents();
    expect(shown.map((s) => s.replace(/\u200b/g, ""))).toEqual(expect.arrayContaining(["/api/v1/aggregation", "/api/_/test_coverage", "/apispec.json"]));

    // Open the aggregation operation: its parameters are listed.
    // (By exact path: /api/v1/aggregation/analysis and …/observations share the prefix.)
    await page.locator('.opblock-summary-path[data-path="/api/v1/aggregation"]').click();
    await page.locator(".parameters .parameter__name", { hasText: "time_grain" }).waitFor();
    expect(await page.locator(".parameters .parameter__name").count()).toBe(14);

    await page.screenshot({ path: path.join(tmpdir(), "ooni-edge-apidocs.png"), fullPage: false });
    expect(errors).toEqual([]);
    expect(requested.filter((u) => !u.startsWith(origin.url) && !u.startsWith("data:"))).toEqual([]);
  }, 90_000);
});
