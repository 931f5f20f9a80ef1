import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../../http/router";
import { countryName } from "../countries";
import { chDateTime, probeCcRequired } from "../params";
import { statsResponse, type Rows } from "../respond";
import { DatedValue, notModified, statsErrors } from "../schemas";
import { isoMidnight, startOfUtcMonth } from "../windows";

// Explorer's front page and country pages: global and per-country totals, and month series over
// the last two years.

const tags = ["explorer statistics"];
const json = <T extends z.ZodTypeAny>(schema: T, description: string) => ({
  200: { description, content: { "application/json": { schema } } },
  ...notModified,
  ...statsErrors,
});

const monthSeries = z.array(DatedValue);

// Two years back from the first day of this month, up to the first day of next month.
function lastTwoYears(now: Date) {
  return { start: chDateTime(startOfUtcMonth(now, -24)), end: chDateTime(startOfUtcMonth(now, 1)) };
}

const asnByMonth = createRoute({
  method: "get",
  path: "/api/_/asn_by_month",
  tags,
  summary: "Distinct networks (ASNs) measured per month, last 24 months",
  responses: json(monthSeries, "[{date, value}] ordered by month"),
});

const countriesByMonth = createRoute({
  method: "get",
  path: "/api/_/countries_by_month",
  tags,
  summary: "Distinct countries measured per month, last 24 months",
  responses: json(monthSeries, "[{date, value}] ordered by month"),
});

const CountryEntry = z.object({ alpha_2: z.string(), name: z.string(), count: z.number().int() });
const countries = createRoute({
  method: "get",
  path: "/api/_/countries",
  tags,
  summary: "Every country with measurements, and its measurement count",
  responses: json(z.object({ countries: z.array(CountryEntry) }).openapi("Countries"), "Ordered by country code"),
});

const CountryOverview = z
  .object({
    first_bucket_date: z.string().openapi({
      description: "Day of the first measurement (YYYY-MM-DD); 1970-01-01 without any (upstream's answer: Explorer's calendar needs a date)",
    }),
    measurement_count: z.number().int(),
    network_count: z.number().int(),
  })
  .openapi("CountryOverview");
const countryOverview = createRoute({
  method: "get",
  path: "/api/_/country_overview",
  tags,
  summary: "A country's first measurement day, measurement count and network count",
  request: { query: z.object({ probe_cc: probeCcRequired }) },
  responses: json(CountryOverview, "Country totals"),
});

const GlobalOverview = z
  .object({ network_count: z.number().int(), country_count: z.number().int(), measurement_count: z.number().int() })
  .openapi("GlobalOverview");
const globalOverview = createRoute({
  method: "get",
  path: "/api/_/global_overview",
  tags,
  summary: "Total networks, countries and measurements",
  responses: json(GlobalOverview, "Totals"),
});

const GlobalByMonth = z
  .object({ networks_by_month: monthSeries, countries_by_month: monthSeries, measurements_by_month: monthSeries })
  .openapi("GlobalOverviewByMonth");
const globalByMonth = createRoute({
  method: "get",
  path: "/api/_/global_overview_by_month",
  tags,
  summary: "Networks, countries and measurements per month, last 24 months",
  responses: json(GlobalByMonth, "Three month series"),
});

async function distinctPerMonth(rows: Rows, now: Date, column: "probe_asn" | "probe_cc") {
  const r = await rows<{ month: string; value: number }>(
    // `column` is one of two fixed identifiers chosen by the caller, never user input.
    `SELECT toStartOfMonth(measurement_start_time, 'UTC') AS month, uniqExact(${column}) AS value
     FROM fastpath
     WHERE measurement_start_time >= {start:DateTime('UTC')} AND measurement_start_time < {end:DateTime('UTC')}
     GROUP BY month ORDER BY month`,
    lastTwoYears(now),
  );
  return r.map((x) => ({ date: isoMidnight(x.month), value: x.value }));
}

export function overviewRoutes() {
  const app = createRouter();

  app.openapi(asnByMonth, (c) => statsResponse(c, "asn_by_month", (rows, now) => distinctPerMonth(rows, now, "probe_asn")));
  app.openapi(countriesByMonth, (c) =>
    statsResponse(c, "countries_by_month", (rows, now) => distinctPerMonth(rows, now, "probe_cc")),
  );

  app.openapi(countries, (c) =>
    statsResponse(c, "countries", async (rows) => {
      const r = await rows<{ probe_cc: string; measurement_count: number }>(
        "SELECT probe_cc, count() AS measurement_count FROM fastpath GROUP BY probe_cc ORDER BY probe_cc",
      );
      const out = [];
      for (const x of r) {
        const name = countryName(x.probe_cc);
        if (name) out.push({ alpha_2: x.probe_cc, name, count: x.measurement_count });
      }
      return { countries: out };
    }),
  );

  app.openapi(countryOverview, (c) =>
    statsResponse(c, "country_overview", async (rows) => {
      const { probe_cc } = c.req.valid("query");
      const [r] = await rows<{ first: string; measurement_count: number; network_count: number }>(
        `SELECT toString(toDate(min(measurement_start_time), 'UTC')) AS first, count() AS measurement_count,
                uniqExact(probe_asn) AS network_count
         FROM fastpath
         WHERE probe_cc = {probe_cc:String} AND measurement_start_time > '2012-12-01 00:00:00'`,
        { probe_cc },
      );
      return {
        // ClickHouse's min() over no rows, which is what upstream answers; null broke Explorer.
        first_bucket_date: r && r.measurement_count > 0 ? r.first : "1970-01-01",
        measurement_count: r?.measurement_count ?? 0,
        network_count: r?.network_count ?? 0,
      };
    }),
  );

  app.openapi(globalOverview, (c) =>
    statsResponse(c, "global_overview", async (rows) => {
      const [r] = await rows<{ network_count: number; country_count: number; measurement_count: number }>(
        `SELECT uniqExact(probe_asn) AS network_count, uniqExact(probe_cc) AS country_count, count() AS measurement_count
         FROM fastpath`,
      );
      return r;
    }),
  );

  app.openapi(globalByMonth, (c) =>
    statsResponse(c, "global_overview_by_month", async (rows, now) => {
      const r = await rows<{ month: string; networks: number; countries: number; measurements: number }>(
        `SELECT toStartOfMonth(measurement_start_time, 'UTC') AS month, uniqExact(probe_asn) AS networks,
                uniqExact(probe_cc) AS countries, count() AS measurements
         FROM fastpath
         WHERE measurement_start_time >= {start:DateTime('UTC')} AND measurement_start_time < {end:DateTime('UTC')}
         GROUP BY month ORDER BY month`,
        lastTwoYears(now),
      );
      const series = (k: "networks" | "countries" | "measurements") => r.map((x) => ({ date: isoMidnight(x.month), value: x[k] }));
      return {
        networks_by_month: series("networks"),
        countries_by_month: series("countries"),
        measurements_by_month: series("measurements"),
      };
    }),
  );
  return app;
}
