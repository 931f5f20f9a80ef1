// What the legacy API served at /robots.txt: crawlers stay off the heavy and the probe-only routes.
export const ROBOTS_TXT = `User-agent: *
Disallow: /api/_
Disallow: /api/v1/aggregation
Disallow: /api/v1/measurement_meta
Disallow: /api/v1/raw_measurement
Disallow: /api/v1/test-list/urls
Disallow: /api/v1/torsf_stats
Disallow: /files
Disallow: /stats
Disallow: /201
Disallow: /202
Crawl-delay: 300
`;

export const ROBOTS_MAX_AGE_S = 86_400;
