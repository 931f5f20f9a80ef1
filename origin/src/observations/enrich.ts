import type { MeasurementObservations } from "./rows";

// Network metadata for addresses: upstream looks them up in its IP-to-AS database (netinfodb); here
// the origin's GeoIP (DB-IP / GeoLite2) answers. Runs on the main thread at write time, where the
// GeoIP readers already live (the scoring threads do not open the databases).

export interface IpLookup {
  lookup(ip: string): { cc: string; asn: number; as_name: string | null };
}

export function enrichObservations(obs: MeasurementObservations, geo: IpLookup | null): void {
  if (!geo) return;
  const info = (ip: string) => {
    const g = geo.lookup(ip);
    return g.asn === 0 && g.cc === "ZZ" ? null : g;
  };
  for (const r of [...obs.web, ...obs.ctrl]) {
    if (!r.ip) continue;
    const g = info(r.ip);
    if (!g) continue;
    r.ip_cc = g.cc;
    r.ip_asn = g.asn;
    r.ip_as_org_name = g.as_name ?? "";
  }
  for (const r of [...obs.web, ...obs.middlebox]) {
    if (r.resolver_ip === "") continue;
    const g = info(r.resolver_ip);
    if (!g) continue;
    r.resolver_cc = g.cc;
    r.resolver_asn = g.asn;
    r.resolver_as_org_name = g.as_name ?? "";
  }
}
