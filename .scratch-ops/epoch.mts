import { Reader } from "maxmind";
import { readFileSync } from "node:fs";
for (const f of ["country", "asn", "alt-country", "alt-asn"]) {
  const r = new Reader(readFileSync(`/work/main/origin/fixtures/geoip/${f}.mmdb`));
  console.log(f, r.metadata.databaseType, r.metadata.buildEpoch.toISOString());
}
