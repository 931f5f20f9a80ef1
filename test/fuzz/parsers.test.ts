import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { compress as zstdCompress } from "@mongodb-js/zstd";
import { ZodError } from "zod";
import { describe, expect, it } from "vitest";
import { buildAggregationQuery, AXES, type Axis } from "../../origin/src/aggregation/build-query";
import { resolveGrain, GRAINS } from "../../origin/src/aggregation/time-grain";
import { EmailAddress } from "../../origin/src/auth/account-id";
import { redactPath } from "../../origin/src/auth/redact";
import { parsePyDateTime, parseUidTime } from "../../origin/src/fastpath/scoring/py-datetime";
import { parseVersion } from "../../origin/src/fastpath/scoring/pep440";
import { decodeContent } from "../../origin/src/intake/body";
import { IntakeError } from "../../origin/src/intake/errors";
import { makeMeasurementUid, parseMeasurementUid } from "../../origin/src/intake/measurement-uid";
import { measurementMetadata } from "../../origin/src/intake/metadata";
import { parsePostFile } from "../../origin/src/intake/post-file";
import { generateReportId, parseReportId } from "../../origin/src/intake/report-id";
import { ZstdFormatError, zstdOutputBound } from "../../origin/src/intake/zstd-bound";
import * as measurementParams from "../../origin/src/measurements/params";
import { parseCidr } from "../../origin/src/quotas/network";
import * as statsParams from "../../origin/src/stats/params";
import { report, scale } from "../support/reliability";
import { anyJson, hostileString } from "./openapi-arbitraries";
import { fuzzSeed, seedFor } from "./seed";

// The pure parsers behind the routes, fuzzed directly: each either answers or throws the project's
// own typed error (IntakeError, ZstdFormatError, a zod error, a JSON SyntaxError where documented),
// never a TypeError or RangeError from an unexpected input.

const RUNS = scale(500, 20_000);
const SEED = fuzzSeed();

function run<T>(name: string, arb: fc.Arbitrary<T>, check: (v: T) => void | Promise<void>) {
  return async () => {
    await fc.assert(
      fc.asyncProperty(arb, async (v) => {
        await check(v);
      }),
      { numRuns: RUNS, seed: seedFor(SEED, name) },
    );
    report("fuzz-parsers", name, { cases: RUNS });
  };
}

const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  anyJson.map((v) => new TextEncoder().encode(JSON.stringify(v) ?? "")),
  fc.record({ format: fc.constant("json"), report_id: fc.option(hostileString), content: fc.oneof(anyJson, anyJson.map((v) => JSON.stringify(v) ?? "")) }).map((v) => new TextEncoder().encode(JSON.stringify(v))),
);

/** Whatever the thrown value is, it must be one of `allowed`. */
function onlyThrows(fn: () => unknown, ...allowed: (new (...a: any[]) => Error)[]) {
  try {
    return fn();
  } catch (err) {
    if (!allowed.some((E) => err instanceof E)) throw new Error(`unexpected ${(err as Error)?.name}: ${(err as Error)?.message}`);
    return undefined;
  }
}

describe("intake parsers", () => {
  it(
    "parsePostFile: an envelope with an own-property object measurement, or SyntaxError/ZodError",
    run("parsePostFile", bytes, (b) => {
      const r = onlyThrows(() => parsePostFile(b), SyntaxError, ZodError) as ReturnType<typeof parsePostFile> | undefined;
      if (!r) return;
      expect(typeof r.measurement).toBe("object");
      expect(Array.isArray(r.measurement)).toBe(false);
      expect(r.reportId === null || typeof r.reportId === "string").toBe(true);
    }),
  );

  it(
    "parseReportId: IntakeError 400 or a report id with a two-letter country and a 32-bit ASN; generated ids round-trip",
    run(
      "parseReportId",
      fc.oneof(hostileString, fc.stringMatching(/^[0-9A-Za-z]{1,20}_[a-z]{1,30}_[A-Za-z]{1,3}_[0-9]{1,12}_n[0-9]{1,3}_[A-Za-z0-9]{1,20}$/)),
      (s) => {
        const r = onlyThrows(() => parseReportId(s), IntakeError) as ReturnType<typeof parseReportId> | undefined;
        if (r) {
          expect(r.cc).toMatch(/^[A-Z]{2}$/);
          expect(r.asn).toBeLessThanOrEqual(0xffffffff);
          expect(r.reportId).toMatch(/^[A-Za-z0-9_]+$/);
        }
        const id = generateReportId("web_connectivity", "IT", 30722, "1");
        expect(parseReportId(id).asn).toBe(30722);
      },
    ),
  );

  it(
    "parseMeasurementUid: null or a uid whose hour directory has no path separators; made uids parse",
    run("parseMeasurementUid", fc.tuple(hostileString, fc.stringMatching(/^\d{14}\.\d{6}_[A-Z]{2}_[A-Za-z0-9.+-]{1,64}_[0-9a-f]{16}$/)), ([junk, shaped]) => {
      for (const s of [junk, shaped]) {
        const r = parseMeasurementUid(s);
        if (r) {
          expect(r.hourDir).not.toMatch(/[/\\\0]|^\.\.?$/);
          expect(Number.isNaN(r.receivedAt.getTime())).toBe(false);
        }
      }
      const uid = makeMeasurementUid("IT", "webconnectivity", new TextEncoder().encode(junk));
      expect(parseMeasurementUid(uid)?.uid).toBe(uid);
    }),
  );

  it(
    "measurementMetadata: metadata or IntakeError, for any JSON",
    run("measurementMetadata", anyJson, (v) => {
      onlyThrows(() => measurementMetadata(v), IntakeError);
    }),
  );

  it(
    "decodeContent: the original bytes, or IntakeError (400/413/415), for any encoding and body",
    run(
      "decodeContent",
      fc.tuple(
        fc.option(fc.constantFrom("gzip", "x-gzip", "zstd", "identity", "", " GZIP ", "br", "deflate", "gzip, zstd")),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(3),
        fc.nat(20),
      ),
      async ([enc, raw, packing, cut]) => {
        let body: Buffer = Buffer.from(raw);
        if (packing === 1) body = Buffer.from(gzipSync(raw));
        if (packing === 2) body = Buffer.from(await zstdCompress(Buffer.from(raw), 1));
        if (cut && packing) body = body.subarray(0, Math.max(0, body.length - cut));
        try {
          const out = await decodeContent(enc ?? undefined, body, 150);
          if (!cut && packing === 1 && enc?.trim().toLowerCase().endsWith("gzip")) expect(Buffer.compare(out, Buffer.from(raw))).toBe(0);
        } catch (err) {
          if (!(err instanceof IntakeError)) throw err;
          expect([400, 413, 415]).toContain(err.status);
        }
      },
    ),
  );

  it(
    "zstdOutputBound: a bound at least the real output, or ZstdFormatError",
    run("zstdOutputBound", fc.tuple(fc.uint8Array({ maxLength: 400 }), fc.boolean(), fc.nat(10)), async ([raw, pack, cut]) => {
      const buf = pack ? (await zstdCompress(Buffer.from(raw), 1)).subarray(0, undefined) : Buffer.from(raw);
      const input = cut ? buf.subarray(0, Math.max(0, buf.length - cut)) : buf;
      const bound = onlyThrows(() => zstdOutputBound(input), ZstdFormatError) as number | undefined;
      if (pack && !cut) expect(bound).toBeGreaterThanOrEqual(raw.length);
    }),
  );
});

// Every zod schema exported by the parameter modules: safeParse never throws, whatever the string.
const paramSchemas = Object.entries({ ...statsParams, ...measurementParams }).flatMap(([name, v]) => {
  if (v && typeof v === "object" && "safeParse" in v) return [[name, v as { safeParse(x: unknown): unknown }] as const];
  if (typeof v === "function" && ["dateParam", "intParam", "boolParam"].includes(name)) {
    const s = name === "intParam" ? (v as any)("x", 0, 1000, 1) : (v as any)("x");
    return [[name, s as { safeParse(x: unknown): unknown }] as const];
  }
  return [];
});

describe("query parameter parsers", () => {
  it("found the parameter schemas", () => {
    expect(paramSchemas.length).toBeGreaterThanOrEqual(10);
  });

  it(
    "zod parameter schemas: safeParse never throws, for any string or JSON value",
    run("param schemas", fc.oneof(hostileString, anyJson), (v) => {
      for (const [, s] of paramSchemas) s.safeParse(v);
    }),
  );

  it(
    "parseInstant, splitList, asnNumber, isAsn, isDomain, parseBool: never throw; parseInstant dates are valid",
    run("stats helpers", hostileString, (s) => {
      const d = statsParams.parseInstant(s);
      if (d) expect(Number.isNaN(d.getTime())).toBe(false);
      statsParams.splitList(s);
      statsParams.asnNumber(s);
      statsParams.isAsn(s);
      statsParams.isDomain(s);
      measurementParams.parseBool(s);
    }),
  );

  it(
    "a date accepted by dateParam converts to a ClickHouse DateTime string of the same shape",
    run(
      "dateParam → chDateTime",
      fc.oneof(hostileString, fc.stringMatching(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?)?$/)),
      (s) => {
        const d = statsParams.parseInstant(s);
        if (d) expect(statsParams.chDateTime(d)).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      },
    ),
  );

  it(
    "aggregation SQL: no filter value ever appears in the SQL text (parameters only)",
    run(
      "buildAggregationQuery",
      fc.record({
        probeCc: fc.array(hostileString, { maxLength: 3 }),
        probeAsn: fc.array(fc.nat(), { maxLength: 3 }),
        testName: fc.array(hostileString, { maxLength: 3 }),
        domain: fc.array(hostileString, { maxLength: 3 }),
        input: fc.option(hostileString),
        categoryCode: fc.array(hostileString, { maxLength: 3 }),
        runLinkIds: fc.array(hostileString, { maxLength: 3 }),
        axes: fc.subarray([...AXES] as Axis[], { maxLength: 2 }),
        grain: fc.option(fc.constantFrom(...GRAINS)),
      }),
      (r) => {
        const marker = "ZQXJ'\"`\\;--";
        const { sql } = buildAggregationQuery({
          filters: { ...r, testName: [...r.testName, marker], since: null, until: null },
          axes: r.axes,
          grain: r.grain,
        });
        expect(sql).not.toContain("ZQXJ");
      },
    ),
  );

  it(
    "resolveGrain: a grain or an error message, for any pair of (parsed, so valid) dates",
    run("resolveGrain", fc.tuple(fc.constantFrom(...GRAINS, "auto" as const), fc.date({ noInvalidDate: true }), fc.date({ noInvalidDate: true })), ([g, a, b]) => {
      const r = resolveGrain(g, a, b);
      expect("grain" in r || "error" in r).toBe(true);
    }),
  );
});

describe("other parsers", () => {
  it(
    "parseCidr, redactPath, EmailAddress, parseVersion, parsePyDateTime, parseUidTime: never throw",
    run("misc parsers", fc.oneof(hostileString, anyJson), (v) => {
      const s = typeof v === "string" ? v : JSON.stringify(v) ?? "";
      parseCidr(s);
      const red = redactPath(s);
      if (s.includes("@")) expect(red).not.toContain("@");
      EmailAddress.safeParse(v);
      parseVersion(v);
      parsePyDateTime(v);
      parseUidTime(s);
    }),
  );
});
