// `npm run bridge -- <command>`: the operator's tool for the bridge configuration file and the
// generated part of wrangler.toml. Every editing command validates the whole file after the edit
// (schema and check.ts) and writes it through a temporary file and a rename, so a refused command
// leaves the file exactly as it was. Usage: `npm run bridge -- help`.
import { renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { bridgeFileWarnings } from "./check";
import { normalizeHostname } from "./hostnames";
import { BridgeConfigError, bridgeConfigPath, readBridgeText, validateBridgeText } from "./load";
import type { BridgeEnvironment, BridgeFile } from "./parse";
import { domainKinds } from "./deploy-schema";
import { appendEntry, EditError, removeEntry, setInEntry, verifyEdit, type TomlValue } from "./toml-edit";
import { freshness, generatedBlock, lineDiff, locateGenerated, routesOf, VAR_LIMIT_BYTES, withGenerated, renderedVarBytes } from "./wrangler";

const USAGE = `usage: npm run bridge -- <command> [options]

  list                                   environments, zones, domains (with their routes), helpers
  check                                  validate the file and the generated part of wrangler.toml
  render                                 write the generated part of wrangler.toml, print the diff
  add-zone <name> [--saas]               declare a Cloudflare zone (--saas: Cloudflare for SaaS)
  add-domain <name> [--zone Z] [--kind route|custom_domain|custom_hostname]
  remove-domain <name>
  add-helper <id> <url> [--weight W] [--canary]
  set-weight <id> <W> [--canary | --no-canary]
  drain-helper <id> [--undo]
  remove-helper <id>                     only a drained helper

  every command: [--env E] (default: the top level) [--config FILE] [--wrangler FILE]
  FILE defaults: $BRIDGE_CONFIG or bridge-config/bridge.toml; wrangler.toml next to package.json`;

const repoRoot = path.resolve(import.meta.dirname, "..");

class UsageError extends Error {}
class CommandError extends Error {}

type Table = Record<string, unknown>;

interface Ctx {
  configPath: string;
  wranglerPath: string;
  env: string | null;
  flags: Record<string, string | boolean | undefined>;
  args: string[];
  out: (line: string) => void;
}

function environment(file: BridgeFile, env: string | null): BridgeEnvironment {
  const e = file.environments.find((x) => x.env === env);
  if (!e) {
    const known = file.environments.filter((x) => x.env !== null).map((x) => x.env).join(", ") || "none";
    throw new CommandError(`unknown environment "${env}" (environments in the file: ${known}): add an [env.${env}] table first`);
  }
  return e;
}

/** The decoded table at an environment's level: the file itself, or its [env.E] table. */
function levelOf(table: Table, env: string | null): Table {
  return env === null ? table : ((table.env as Table)[env] as Table);
}
const pathAt = (env: string | null, p: string) => (env === null ? p : `env.${env}.${p}`);

function readFile(ctx: Ctx): { text: string; file: BridgeFile } {
  const text = readBridgeText(ctx.configPath);
  return { text, file: validateBridgeText(text, ctx.configPath) };
}

/** Validate an edit fully, then replace the file atomically. */
function commit(ctx: Ctx, edited: string, expected: Table): BridgeFile {
  try {
    verifyEdit(edited, expected);
  } catch (err) {
    if (err instanceof EditError) throw new CommandError(`cannot edit ${ctx.configPath} automatically: ${err.message}; make the change by hand and run check`);
    throw err;
  }
  let file: BridgeFile;
  try {
    file = validateBridgeText(edited, ctx.configPath);
  } catch (err) {
    if (!(err instanceof BridgeConfigError)) throw err;
    throw new CommandError(`refused, nothing written: the change would make ${ctx.configPath} invalid:\n${err.problems.map((p) => `  - ${p}`).join("\n")}`);
  }
  const tmp = `${ctx.configPath}.${process.pid}.tmp`;
  writeFileSync(tmp, edited);
  renameSync(tmp, ctx.configPath);
  return file;
}

function one(ctx: Ctx, what: string): string {
  if (ctx.args.length !== 1) throw new UsageError(`expected exactly one ${what}`);
  return ctx.args[0]!;
}

function numberFlag(value: string, what: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new CommandError(`${what} must be a number, not "${value}"`);
  if (n < 0 || n > 1_000_000) throw new CommandError(`${what} ${n} is out of range: use 0–1000000 (relative to the other helpers' weights)`);
  return n;
}

function helperIndex(e: BridgeEnvironment, id: string): number {
  const i = e.config.helpers.pool.findIndex((h) => h.id === id);
  if (i < 0) {
    const known = e.config.helpers.pool.map((h) => h.id).join(", ") || "none";
    throw new CommandError(`unknown helper "${id}" in ${e.env === null ? "the top level" : `env.${e.env}`} (helpers: ${known})`);
  }
  return i;
}

/** Entries as written in the file (not defaulted), for computing the intended decoded result. */
function rawArray(level: Table, key: string): Table[] {
  const v = key.split(".").reduce<unknown>((t, k) => (t as Table | undefined)?.[k], level);
  return Array.isArray(v) ? (v as Table[]) : [];
}

function withArray(table: Table, env: string | null, key: string, update: (items: Table[]) => Table[]): Table {
  const copy = structuredClone(table);
  let level = levelOf(copy, env);
  const parts = key.split(".");
  for (const k of parts.slice(0, -1)) level = (level[k] ??= {}) as Table;
  level[parts.at(-1)!] = update(rawArray(level, parts.at(-1)!));
  return copy;
}

const commands: Record<string, (ctx: Ctx) => void> = {
  list(ctx) {
    const { file } = readFile(ctx);
    for (const e of file.environments) {
      if (ctx.flags.env !== undefined && e.env !== ctx.env) continue;
      ctx.out(`${e.env === null ? "top level (default environment)" : `env.${e.env}`}: bridge "${e.config.name}", origin ${e.config.origin.url}`);
      ctx.out(`  zones: ${e.zones.map((z) => `${z.name}${z.saas ? " (saas)" : ""}`).join(", ") || "none"}`);
      ctx.out("  domains:");
      if (!e.domains.length) ctx.out("    none");
      for (const d of e.domains) ctx.out(`    ${d.name}  ${d.kind} on ${d.zone}`);
      ctx.out(`  routes: ${routesOf(e).map((r) => (r.custom_domain ? `${r.pattern} (custom domain)` : `${r.pattern} on ${r.zone_name}`)).join(", ") || "none"}`);
      ctx.out(`  helper hostnames: ${e.config.helpers.hostnames.join(", ") || "none"}`);
      const pool = e.config.helpers.pool;
      const total = pool.reduce((s, h) => s + (h.drained ? 0 : h.weight), 0);
      ctx.out("  helpers (id, url, weight, share of client networks):");
      if (!pool.length) ctx.out("    none");
      for (const h of pool) {
        const share = h.drained || total === 0 ? 0 : h.weight / total;
        const tags = [h.canary ? "canary" : "", h.drained ? "drained" : ""].filter(Boolean).join(", ");
        ctx.out(`    ${h.id}  ${h.url}  weight ${h.weight}  ${(share * 100).toFixed(1)} %${tags ? `  (${tags})` : ""}`);
      }
    }
  },

  check(ctx) {
    const { file } = readFile(ctx);
    const wrangler = readBridgeText(ctx.wranglerPath);
    let state;
    try {
      state = freshness(wrangler, file);
    } catch (err) {
      throw new CommandError(`${ctx.wranglerPath}: ${(err as Error).message}`);
    }
    const render = "npm run bridge -- render";
    if (state.state === "missing") throw new CommandError(`${ctx.wranglerPath} has no generated part: run ${render}`);
    if (state.state === "hand-edited") {
      throw new CommandError(`${ctx.wranglerPath} lines ${state.lines[0]}–${state.lines[1]}: the generated part was edited by hand: move the change into ${ctx.configPath} and run ${render} (it overwrites the edit)`);
    }
    if (state.state === "stale") throw new CommandError(`${ctx.wranglerPath} is out of date with ${ctx.configPath}: run ${render}`);
    for (const e of file.environments) {
      const size = renderedVarBytes(e.config);
      if (size > VAR_LIMIT_BYTES) throw new CommandError(`${pathAt(e.env, "")}BRIDGE_CONFIG would be ${size} bytes, over Cloudflare's ${VAR_LIMIT_BYTES}-byte limit for a variable: shorten the pool or cache routes`);
    }
    for (const w of bridgeFileWarnings(file)) ctx.out(`warning: ${w}`);
    ctx.out(`ok: ${ctx.configPath} (${file.environments.length} environment(s)) and the generated part of ${ctx.wranglerPath}`);
  },

  render(ctx) {
    const { file } = readFile(ctx);
    const before = readBridgeText(ctx.wranglerPath);
    const rel = path.relative(path.dirname(ctx.wranglerPath), ctx.configPath) || ctx.configPath;
    let after: string;
    let old: string[];
    try {
      old = locateGenerated(before.split("\n"))?.body ?? [];
      after = withGenerated(before, generatedBlock(file, rel));
    } catch (err) {
      throw new CommandError(`${ctx.wranglerPath}: ${(err as Error).message.split("\n")[0]}`);
    }
    const body = locateGenerated(after.split("\n"))!.body;
    // Same routes and vars: leave the file alone (even if the marker names the file differently).
    if (after === before || body.join("\n") === old.join("\n")) return void ctx.out(`${ctx.wranglerPath} is up to date`);
    const tmp = `${ctx.wranglerPath}.${process.pid}.tmp`;
    writeFileSync(tmp, after);
    renameSync(tmp, ctx.wranglerPath);
    ctx.out(`--- ${ctx.wranglerPath} (generated part, before)\n+++ ${ctx.wranglerPath} (generated part, after)`);
    for (const line of lineDiff(old, body)) ctx.out(line);
    if (file.environments.some((e) => e.config.admin.status_token || e.config.admin.purge_token)) {
      ctx.out("note: admin tokens are not written to wrangler.toml: wrangler secret put BRIDGE_STATUS_TOKEN / BRIDGE_PURGE_TOKEN");
    }
  },

  "add-zone"(ctx) {
    const n = normalizeHostname(one(ctx, "zone name"), { wildcard: false });
    if (!n.ok) throw new CommandError(`zone ${n.problem}`);
    const { text, file } = readFile(ctx);
    const e = environment(file, ctx.env);
    if (e.zones.some((z) => z.name === n.name)) throw new CommandError(`zone "${n.name}" is already declared`);
    const entry: [string, TomlValue][] = [["name", n.name]];
    if (ctx.flags.saas) entry.push(["saas", true]);
    const p = pathAt(ctx.env, "zones");
    commit(ctx, appendEntry(text, p, entry), withArray(file.table, ctx.env, "zones", (a) => [...a, Object.fromEntries(entry)]));
    ctx.out(`added zone ${n.name}${ctx.flags.saas ? " (Cloudflare for SaaS)" : ""} to ${p}`);
  },

  "add-domain"(ctx) {
    const typed = one(ctx, "hostname");
    const n = normalizeHostname(typed);
    if (!n.ok) throw new CommandError(`hostname ${n.problem}`);
    const kind = (ctx.flags.kind as string | undefined) ?? "route";
    if (!(domainKinds as readonly string[]).includes(kind)) throw new UsageError(`--kind must be one of ${domainKinds.join(", ")}`);
    const { text, file } = readFile(ctx);
    const e = environment(file, ctx.env);
    if (e.domains.some((d) => d.name === n.name)) throw new CommandError(`"${n.name}" is already a domain of ${e.env === null ? "the top level" : `env.${e.env}`}`);
    let zone = ctx.flags.zone as string | undefined;
    if (zone !== undefined) {
      const z = normalizeHostname(zone, { wildcard: false });
      zone = z.ok ? z.name : zone;
      if (!e.zones.some((x) => x.name === zone)) {
        throw new CommandError(`unknown zone "${zone}" (declared: ${e.zones.map((x) => x.name).join(", ") || "none"}): npm run bridge -- add-zone ${zone}${ctx.env ? ` --env ${ctx.env}` : ""}`);
      }
    } else {
      // The most specific declared zone that contains the name.
      zone = e.zones
        .map((z) => z.name)
        .filter((z) => n.base === z || n.base.endsWith(`.${z}`))
        .sort((a, b) => b.length - a.length)[0];
      if (!zone) throw new CommandError(`no declared zone contains "${n.name}": give --zone, or declare it with npm run bridge -- add-zone <zone>${ctx.env ? ` --env ${ctx.env}` : ""}`);
    }
    const entry: [string, TomlValue][] = [["name", n.name], ["zone", zone]];
    if (kind !== "route") entry.push(["kind", kind]);
    const p = pathAt(ctx.env, "domains");
    commit(ctx, appendEntry(text, p, entry), withArray(file.table, ctx.env, "domains", (a) => [...a, Object.fromEntries(entry)]));
    ctx.out(`added ${n.name}${n.name !== typed ? ` (written as ${n.name}; you typed ${typed})` : ""} to ${p}: ${kind} on ${zone}`);
    ctx.out("next: npm run bridge -- render, review the diff, wrangler deploy" + (ctx.env ? ` --env ${ctx.env}` : ""));
  },

  "remove-domain"(ctx) {
    const typed = one(ctx, "hostname");
    const n = normalizeHostname(typed);
    const name = n.ok ? n.name : typed;
    const { text, file } = readFile(ctx);
    const e = environment(file, ctx.env);
    const i = e.domains.findIndex((d) => d.name === name);
    if (i < 0) throw new CommandError(`"${name}" is not a domain of ${e.env === null ? "the top level" : `env.${e.env}`} (domains: ${e.domains.map((d) => d.name).join(", ") || "none"})`);
    const p = pathAt(ctx.env, "domains");
    commit(ctx, removeEntry(text, p, i), withArray(file.table, ctx.env, "domains", (a) => a.filter((_, k) => k !== i)));
    ctx.out(`removed ${name} from ${p}`);
  },

  "add-helper"(ctx) {
    if (ctx.args.length !== 2) throw new UsageError("expected <id> <url>");
    const [id, url] = ctx.args as [string, string];
    const weight = ctx.flags.weight === undefined ? 1 : numberFlag(ctx.flags.weight as string, "--weight");
    const { text, file } = readFile(ctx);
    const e = environment(file, ctx.env);
    if (e.config.helpers.pool.some((h) => h.id === id)) throw new CommandError(`helper "${id}" already exists: pick another id (ids feed the hash; never reuse one for another machine)`);
    const entry: [string, TomlValue][] = [["id", id], ["url", url], ["weight", weight]];
    if (ctx.flags.canary) entry.push(["canary", true]);
    const p = pathAt(ctx.env, "helpers.pool");
    commit(ctx, appendEntry(text, p, entry), withArray(file.table, ctx.env, "helpers.pool", (a) => [...a, Object.fromEntries(entry)]));
    ctx.out(`added helper ${id} (${url}, weight ${weight}${ctx.flags.canary ? ", canary" : ""}) to ${p}`);
  },

  "set-weight"(ctx) {
    if (ctx.args.length !== 2) throw new UsageError("expected <id> <weight>");
    const [id, w] = ctx.args as [string, string];
    const weight = numberFlag(w, "weight");
    if (ctx.flags.canary && ctx.flags["no-canary"]) throw new UsageError("--canary and --no-canary together");
    const { text, file } = readFile(ctx);
    const i = helperIndex(environment(file, ctx.env), id);
    const p = pathAt(ctx.env, "helpers.pool");
    let edited = setInEntry(text, p, i, "weight", weight);
    const canary = ctx.flags.canary ? true : ctx.flags["no-canary"] ? false : undefined;
    if (canary !== undefined) edited = setInEntry(edited, p, i, "canary", canary);
    commit(ctx, edited, withArray(file.table, ctx.env, "helpers.pool", (a) => a.map((h, k) => (k === i ? { ...h, weight, ...(canary === undefined ? {} : { canary }) } : h))));
    ctx.out(`helper ${id}: weight ${weight}${canary === undefined ? "" : canary ? ", canary" : ", no longer a canary"}`);
  },

  "drain-helper"(ctx) {
    const id = one(ctx, "helper id");
    const drained = !ctx.flags.undo;
    const { text, file } = readFile(ctx);
    const i = helperIndex(environment(file, ctx.env), id);
    const p = pathAt(ctx.env, "helpers.pool");
    commit(ctx, setInEntry(text, p, i, "drained", drained), withArray(file.table, ctx.env, "helpers.pool", (a) => a.map((h, k) => (k === i ? { ...h, drained } : h))));
    ctx.out(drained ? `helper ${id} drained: it takes no new clients once rendered and deployed; its clients move to the others` : `helper ${id} takes clients again`);
  },

  "remove-helper"(ctx) {
    const id = one(ctx, "helper id");
    const { text, file } = readFile(ctx);
    const e = environment(file, ctx.env);
    const i = helperIndex(e, id);
    if (!e.config.helpers.pool[i]!.drained) throw new CommandError(`helper "${id}" is not drained: npm run bridge -- drain-helper ${id}, render and deploy first, then remove it`);
    const p = pathAt(ctx.env, "helpers.pool");
    commit(ctx, removeEntry(text, p, i), withArray(file.table, ctx.env, "helpers.pool", (a) => a.filter((_, k) => k !== i)));
    ctx.out(`removed helper ${id} from ${p}`);
  },
};

/**
 * parseArgs reads "-1" as an option: join "--weight -1" into "--weight=-1" and pass other negative
 * numbers as positionals (after "--"), so `set-weight x -1` reaches the range check and its message.
 */
function negativesAsValues(argv: string[]): string[] {
  const negative = (a: string | undefined) => a !== undefined && /^-[0-9.]/.test(a);
  const rest: string[] = [];
  const tail: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return [...rest, ...argv.slice(i), ...tail];
    if (a.startsWith("--") && !a.includes("=") && negative(argv[i + 1])) rest.push(`${a}=${argv[++i]}`);
    else if (negative(a)) tail.push(a);
    else rest.push(a);
  }
  return tail.length ? [...rest, "--", ...tail] : rest;
}

export function run(argv: string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: negativesAsValues(argv),
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: "string" },
        wrangler: { type: "string" },
        env: { type: "string" },
        zone: { type: "string" },
        kind: { type: "string" },
        weight: { type: "string" },
        canary: { type: "boolean" },
        "no-canary": { type: "boolean" },
        saas: { type: "boolean" },
        undo: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    process.stderr.write(`bridge: ${(err as Error).message.split("\n")[0]} (usage: npm run bridge -- help)\n`);
    return 2;
  }
  const [command, ...args] = parsed.positionals;
  if (parsed.values.help || command === "help" || command === undefined) {
    (command === undefined && !parsed.values.help ? process.stderr : process.stdout).write(`${USAGE}\n`);
    return command === undefined && !parsed.values.help ? 2 : 0;
  }
  const handler = commands[command];
  if (!handler) {
    process.stderr.write(`bridge: unknown command "${command}" (usage: npm run bridge -- help)\n`);
    return 2;
  }
  const ctx: Ctx = {
    configPath: path.resolve(parsed.values.config ?? bridgeConfigPath()),
    wranglerPath: path.resolve(parsed.values.wrangler ?? path.join(repoRoot, "wrangler.toml")),
    env: parsed.values.env ?? null,
    flags: parsed.values,
    args,
    out,
  };
  try {
    handler(ctx);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bridge ${command}: ${err.message} (usage: npm run bridge -- help)\n`);
      return 2;
    }
    if (err instanceof CommandError || err instanceof BridgeConfigError) {
      process.stderr.write(`bridge ${command}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) process.exitCode = run(process.argv.slice(2));
