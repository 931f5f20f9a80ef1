// What `npm run bridge -- check` (and every editing command, before it writes) verifies beyond the
// schema: hostnames are canonical and valid, nothing is declared twice or shadowed by a wildcard,
// every route lies in a declared zone, and a deployable environment has routes for its helper
// hostnames and a helper to send them to. Problems name the setting, as the schema's do.
import type { BridgeEnvironment, BridgeFile } from "./parse";
import { covers, insideZone, normalizeHostname } from "./hostnames";

const at = (env: string | null, path: string) => (env === null ? path : `env.${env}.${path}`);
const envFlag = (env: string | null) => (env === null ? "" : ` --env ${env}`);

function checkEnvironment(e: BridgeEnvironment): string[] {
  const problems: string[] = [];
  const zones = new Map<string, { saas: boolean }>();
  e.zones.forEach((z, i) => {
    const n = normalizeHostname(z.name, { wildcard: false });
    if (!n.ok) return void problems.push(`${at(e.env, `zones.${i}.name`)}: ${n.problem}`);
    if (n.name !== z.name) return void problems.push(`${at(e.env, `zones.${i}.name`)}: write "${z.name}" as "${n.name}" (lowercase ASCII, punycode for IDNA)`);
    if (zones.has(n.name)) return void problems.push(`${at(e.env, `zones.${i}.name`)}: zone "${n.name}" is declared twice: remove one`);
    zones.set(n.name, { saas: z.saas });
  });

  const seen = new Map<string, number>();
  const valid: { i: number; name: string }[] = [];
  e.domains.forEach((d, i) => {
    const field = at(e.env, `domains.${i}`);
    const n = normalizeHostname(d.name);
    if (!n.ok) return void problems.push(`${field}.name: ${n.problem}`);
    if (n.name !== d.name) return void problems.push(`${field}.name: write "${d.name}" as "${n.name}" (lowercase ASCII, punycode for IDNA)`);
    if (seen.has(n.name)) return void problems.push(`${field}.name: "${n.name}" is already declared as domains.${seen.get(n.name)}: remove one`);
    seen.set(n.name, i);
    const zone = zones.get(d.zone);
    if (!zone) {
      const known = [...zones.keys()].join(", ") || "none";
      return void problems.push(`${field}.zone: unknown zone "${d.zone}" (declared: ${known}): add a [[zones]] entry or use --zone`);
    }
    if (d.kind === "custom_hostname") {
      if (!zone.saas) problems.push(`${field}.zone: custom hostnames attach to a Cloudflare for SaaS zone; mark zone "${d.zone}" with saas = true or use kind = "route"`);
    } else if (!insideZone(n.name, d.zone)) {
      problems.push(`${field}.name: "${n.name}" is not inside zone "${d.zone}": use the zone it belongs to, or kind = "custom_hostname" on a SaaS zone`);
    }
    if (d.kind === "custom_domain" && n.wildcard) problems.push(`${field}.name: Workers Custom Domains take no wildcards: use kind = "route" for "${n.name}"`);
    valid.push({ i, name: n.name });
  });
  for (const a of valid) {
    for (const b of valid) {
      if (covers(a.name, b.name)) {
        problems.push(`${at(e.env, `domains.${b.i}.name`)}: "${b.name}" is already covered by domains.${a.i} "${a.name}": remove one of them`);
      }
    }
  }

  // The legacy helpers are raw TCP: a name the bridge routes goes through Cloudflare's proxy and the
  // Worker, which cannot serve them (docs/edge.md#legacy-helpers).
  const legacy = [
    ...e.config.legacy_helpers.tcp_echo.map((host, i) => ({ field: `legacy_helpers.tcp_echo.${i}`, host })),
    ...e.config.legacy_helpers.http_return_json_headers.map((url, i) => ({ field: `legacy_helpers.http_return_json_headers.${i}`, host: new URL(url).hostname })),
  ];
  for (const { field, host } of legacy) {
    const routed = e.domains.find((d) => d.name === host || covers(d.name, host));
    if (routed) problems.push(`${at(e.env, field)}: "${host}" is routed to the bridge (domain "${routed.name}"), which cannot serve raw TCP: use an address or a name Cloudflare does not proxy`);
  }

  // Only an environment that declares domains is deployed; the local stack has none.
  if (e.domains.length > 0) {
    if (!e.config.helpers.pool.some((h) => !h.drained && h.weight > 0)) {
      problems.push(`${at(e.env, "helpers.pool")}: no helper takes clients (empty, drained or weight 0): npm run bridge -- add-helper <id> <url>${envFlag(e.env)}`);
    }
  }
  return problems;
}

/** Two environments cannot route the same name (Cloudflare allows one Worker per route pattern). */
function checkAcrossEnvironments(file: BridgeFile): string[] {
  const owner = new Map<string, string | null>();
  const problems: string[] = [];
  for (const e of file.environments) {
    e.domains.forEach((d, i) => {
      if (owner.has(d.name) && owner.get(d.name) !== e.env) {
        const other = owner.get(d.name);
        problems.push(`${at(e.env, `domains.${i}.name`)}: "${d.name}" is also a domain of ${other === null ? "the top level" : `env.${other}`}: each hostname belongs to one environment`);
      } else owner.set(d.name, e.env);
    });
  }
  return problems;
}

/**
 * Worth a look but not wrong: a helper hostname without a route of its own may still reach the
 * Worker (a SaaS catch-all, or another Worker's route), so `check` only mentions it.
 */
export function bridgeFileWarnings(file: BridgeFile): string[] {
  return file.environments.flatMap((e) =>
    e.domains.length === 0
      ? []
      : e.config.helpers.hostnames.flatMap((h, i) =>
          e.domains.some((d) => d.name === h || covers(d.name, h))
            ? []
            : [`${at(e.env, `helpers.hostnames.${i}`)}: "${h}" has no route in this environment: npm run bridge -- add-domain '${h}'${envFlag(e.env)}`],
        ),
  );
}

export function checkBridgeFile(file: BridgeFile): string[] {
  return [...file.environments.flatMap(checkEnvironment), ...checkAcrossEnvironments(file)];
}
