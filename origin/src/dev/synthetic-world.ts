import { lookupTable, seededRandom, zipfWeights } from "./prng";

// The made-up world synthetic fastpath rows are drawn from: countries with a Zipf-like share of
// measurements and a censorship level, networks per country, a test-name mix, and websites with
// categories, test-list membership and a "sensitivity" that drives how often they look blocked.
// Everything is derived from the seed, so the same seed gives the same world.

/** Countries in rough order of measurement volume, with how heavily each censors (0–1). */
const COUNTRIES: [cc: string, censorship: number][] = [
  ["US", 0.01], ["RU", 0.35], ["IN", 0.08], ["IR", 0.6], ["DE", 0.01], ["BR", 0.02], ["ID", 0.15], ["IT", 0.03],
  ["CN", 0.65], ["MX", 0.02], ["TR", 0.3], ["GB", 0.02], ["FR", 0.02], ["UA", 0.08], ["VE", 0.3], ["EG", 0.35],
  ["PK", 0.3], ["BD", 0.12], ["MM", 0.45], ["KZ", 0.2], ["NG", 0.05], ["CO", 0.02], ["AR", 0.01], ["ES", 0.02],
  ["CA", 0.01], ["PH", 0.04], ["TH", 0.15], ["VN", 0.25], ["MY", 0.1], ["JP", 0.01], ["KR", 0.06], ["AU", 0.02],
  ["NL", 0.01], ["PL", 0.02], ["BY", 0.35], ["SA", 0.3], ["AE", 0.3], ["KE", 0.03], ["ET", 0.3], ["UG", 0.15],
  ["TZ", 0.12], ["ZA", 0.01], ["CU", 0.35], ["SY", 0.35], ["IQ", 0.2], ["JO", 0.1], ["LB", 0.05], ["TN", 0.05],
  ["MA", 0.05], ["DZ", 0.15], ["SD", 0.25], ["CM", 0.08], ["GH", 0.02], ["SN", 0.03], ["PE", 0.02], ["CL", 0.01],
  ["EC", 0.02], ["NI", 0.15], ["AZ", 0.3], ["TM", 0.7], ["UZ", 0.25], ["KG", 0.12], ["TJ", 0.3], ["AF", 0.3],
  ["NP", 0.05], ["LK", 0.05], ["KH", 0.1], ["LA", 0.15], ["HK", 0.08], ["TW", 0.01], ["SG", 0.03], ["SE", 0.01],
];

/** The test mix: share of measurements, anomaly propensity, failure rate, typical runtime (s). */
const TESTS: [name: string, share: number, anomaly: number, failure: number, runtime: number][] = [
  ["web_connectivity", 0.8, 0, 0.04, 4],
  ["signal", 0.025, 0.25, 0.02, 3],
  ["telegram", 0.025, 0.3, 0.02, 5],
  ["whatsapp", 0.025, 0.3, 0.02, 6],
  ["facebook_messenger", 0.025, 0.3, 0.02, 3],
  ["ndt", 0.01, 0, 0.06, 20],
  ["dash", 0.01, 0, 0.05, 30],
  ["tor", 0.012, 0.5, 0.03, 40],
  ["torsf", 0.008, 0.4, 0.06, 120],
  ["vanilla_tor", 0.005, 0.6, 0.05, 60],
  ["psiphon", 0.012, 0.35, 0.04, 12],
  ["stunreachability", 0.015, 0.2, 0.03, 2],
  ["riseupvpn", 0.005, 0.3, 0.05, 8],
  ["dnscheck", 0.015, 0.1, 0.02, 2],
  ["urlgetter", 0.003, 0.1, 0.05, 3],
  ["http_header_field_manipulation", 0.01, 0.05, 0.01, 2],
  ["http_invalid_request_line", 0.01, 0.05, 0.01, 5],
];

/** Well-known sites first (most measured), with their Citizen Lab category and sensitivity. */
const KNOWN_SITES: [domain: string, category: string, sensitivity: number][] = [
  ["www.facebook.com", "GRP", 0.5], ["twitter.com", "GRP", 0.6], ["www.youtube.com", "MMED", 0.4],
  ["www.instagram.com", "GRP", 0.5], ["www.wikipedia.org", "CULTR", 0.2], ["www.google.com", "SRCH", 0.2],
  ["www.whatsapp.com", "COMT", 0.4], ["telegram.org", "COMT", 0.6], ["signal.org", "COMT", 0.5],
  ["www.torproject.org", "ANON", 0.8], ["www.bbc.com", "NEWS", 0.6], ["edition.cnn.com", "NEWS", 0.3],
  ["www.nytimes.com", "NEWS", 0.4], ["www.theguardian.com", "NEWS", 0.3], ["www.dw.com", "NEWS", 0.5],
  ["www.rferl.org", "NEWS", 0.8], ["www.voanews.com", "NEWS", 0.7], ["www.amnesty.org", "HUMR", 0.6],
  ["www.hrw.org", "HUMR", 0.7], ["rsf.org", "HUMR", 0.6], ["www.reddit.com", "GRP", 0.3],
  ["www.tiktok.com", "GRP", 0.4], ["vk.com", "GRP", 0.3], ["medium.com", "HOST", 0.4],
  ["github.com", "HOST", 0.2], ["archive.org", "CULTR", 0.4], ["proton.me", "COMT", 0.5],
  ["psiphon.ca", "ANON", 0.8], ["getlantern.org", "ANON", 0.8], ["nordvpn.com", "ANON", 0.7],
  ["www.expressvpn.com", "ANON", 0.7], ["www.grindr.com", "LGBT", 0.8], ["www.pornhub.com", "PORN", 0.9],
  ["www.bet365.com", "GMB", 0.8], ["www.linkedin.com", "GRP", 0.2], ["www.netflix.com", "MMED", 0.1],
  ["open.spotify.com", "MMED", 0.1], ["wordpress.com", "HOST", 0.3], ["www.blogger.com", "HOST", 0.4],
  ["www.change.org", "POLR", 0.6], ["www.ilga.org", "LGBT", 0.7], ["www.hrc.org", "LGBT", 0.6],
  ["www.eff.org", "HUMR", 0.4], ["www.economist.com", "NEWS", 0.3], ["www.aljazeera.com", "NEWS", 0.5],
];

const CATEGORIES: [code: string, share: number, sensitivity: number][] = [
  ["NEWS", 0.2, 0.4], ["POLR", 0.1, 0.5], ["HUMR", 0.08, 0.5], ["CULTR", 0.08, 0.1], ["GRP", 0.06, 0.3],
  ["COMT", 0.05, 0.3], ["ANON", 0.04, 0.7], ["LGBT", 0.03, 0.6], ["PORN", 0.05, 0.8], ["GMB", 0.04, 0.7],
  ["REL", 0.05, 0.3], ["HOST", 0.05, 0.2], ["ECON", 0.05, 0.1], ["GOVT", 0.04, 0.1], ["MMED", 0.05, 0.2],
  ["SRCH", 0.02, 0.1], ["HACK", 0.02, 0.4], ["MISC", 0.05, 0.1],
];

const SYLLABLES = ["ka", "lo", "mi", "ra", "ne", "to", "su", "vi", "da", "pe", "zo", "ri", "an", "el", "or", "un", "bi", "fa", "go", "hu"];
const TLDS = [".com", ".org", ".net", ".info"];

export interface Url {
  url: string;
  domain: string;
  category: string;
  sensitivity: number;
  /** Test lists the URL is in: "ZZ" (global) and/or country codes; empty for none. */
  lists: string[];
}

export interface World {
  countries: { cc: string; censorship: number; asns: number[]; asnWeights: number[]; localUrls: number[] }[];
  countryWeights: number[];
  tests: typeof TESTS;
  urls: Url[];
  urlWeights: number[];
  runLinkIds: string[];
  asnNames: Map<number, string>;
}

function syntheticName(rand: () => number): string {
  const n = 2 + Math.floor(rand() * 3);
  let s = "";
  for (let i = 0; i < n; i++) s += SYLLABLES[Math.floor(rand() * SYLLABLES.length)];
  return s;
}

export function buildWorld(seed: number, domainCount = 3000): World {
  const rand = seededRandom(seed);
  const pick = <T>(items: T[], weights: number[]): T => {
    let r = rand() * weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < items.length; i++) if ((r -= weights[i]!) <= 0) return items[i]!;
    return items[items.length - 1]!;
  };

  const usedAsns = new Set<number>();
  const asnNames = new Map<number, string>();
  const countryWeights = zipfWeights(COUNTRIES.length, 1.05);
  const countries = COUNTRIES.map(([cc, censorship], i) => {
    // Bigger countries have more networks; a few networks carry most measurements.
    const n = Math.max(2, Math.round(40 * Math.pow(countryWeights[i]!, 0.6)));
    const asns: number[] = [];
    while (asns.length < n) {
      const asn = 1000 + Math.floor(rand() * 400_000);
      if (usedAsns.has(asn)) continue;
      usedAsns.add(asn);
      asns.push(asn);
      asnNames.set(asn, `${syntheticName(rand).toUpperCase()}-${cc} ${["Telecom", "Net", "Broadband", "Mobile", "ISP"][asns.length % 5]}`);
    }
    return { cc, censorship, asns, asnWeights: zipfWeights(n, 1.3), localUrls: [] as number[] };
  });

  const urls: Url[] = [];
  const domains = new Set<string>();
  for (const [domain, category, sensitivity] of KNOWN_SITES) {
    domains.add(domain);
    urls.push({ url: `https://${domain}/`, domain, category, sensitivity, lists: ["ZZ"] });
  }
  const catCodes = CATEGORIES.map((c) => c[0]);
  const catWeights = CATEGORIES.map((c) => c[1]);
  while (domains.size < domainCount) {
    const local = rand() < 0.4 ? countries[Math.floor(Math.pow(rand(), 1.5) * countries.length)]! : null;
    const domain = `${rand() < 0.3 ? "www." : ""}${syntheticName(rand)}${local ? `.${local.cc.toLowerCase()}` : TLDS[Math.floor(rand() * TLDS.length)]}`;
    if (domains.has(domain)) continue;
    domains.add(domain);
    const category = pick(catCodes, catWeights);
    const sensitivity = Math.min(1, CATEGORIES.find((c) => c[0] === category)![2] * (0.3 + rand() * 1.4));
    // Country sites are in their country's list; the rest mostly in the global list; some in none.
    const lists = local ? [local.cc] : rand() < 0.93 ? ["ZZ"] : [];
    // A few global URLs are also in a country list, under another category (exercises the
    // "country list first" category rule).
    if (!local && lists.length && rand() < 0.04) lists.push(countries[Math.floor(rand() * countries.length)]!.cc);
    const path = rand() < 0.2 ? `${["news", "about", "index.html", "blog", "en"][Math.floor(rand() * 5)]}` : "";
    const scheme = rand() < 0.8 ? "https" : "http";
    urls.push({ url: `${scheme}://${domain}/${path}`, domain, category, sensitivity, lists });
    if (local) local.localUrls.push(urls.length);
  }
  const urlWeights = zipfWeights(urls.length, 1.0);
  return {
    countries,
    countryWeights,
    tests: TESTS,
    urls,
    urlWeights,
    runLinkIds: ["10001", "10002", "10005", "10023", "10100"],
    asnNames,
  };
}

export const LUT_SIZE = 65_536;
export const ASN_SLOTS = 1024;
export const LOCAL_SLOTS = 256;

/** The world as flat arrays for SQL query parameters (see seed-fastpath.ts). */
export function worldParams(w: World) {
  const asnFlat: number[] = [];
  const localFlat: number[] = [];
  for (const c of w.countries) {
    for (const i of lookupTable(c.asnWeights, ASN_SLOTS)) asnFlat.push(c.asns[i - 1]!);
    if (c.localUrls.length) {
      const weights = zipfWeights(c.localUrls.length, 0.9);
      for (const i of lookupTable(weights, LOCAL_SLOTS)) localFlat.push(c.localUrls[i - 1]!);
    } else {
      for (let k = 0; k < LOCAL_SLOTS; k++) localFlat.push(0);
    }
  }
  return {
    cc_lut: lookupTable(w.countryWeights, LUT_SIZE),
    ccs: w.countries.map((c) => c.cc),
    censorship: w.countries.map((c) => c.censorship),
    asn_flat: asnFlat,
    test_lut: lookupTable(
      w.tests.map((t) => t[1]),
      4096,
    ),
    tests: w.tests.map((t) => t[0]),
    test_anomaly: w.tests.map((t) => t[2]),
    test_failure: w.tests.map((t) => t[3]),
    test_runtime: w.tests.map((t) => t[4]),
    url_lut: lookupTable(w.urlWeights, LUT_SIZE),
    local_flat: localFlat,
    urls: w.urls.map((u) => u.url),
    url_domains: w.urls.map((u) => u.domain),
    url_sensitivity: w.urls.map((u) => u.sensitivity),
    run_link_ids: w.runLinkIds,
  };
}
