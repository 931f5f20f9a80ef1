import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { report } from "../support/reliability";

// A static guard: SQL in origin/src is never built by interpolating or concatenating request values.
// Every template literal that looks like SQL is parsed (TypeScript's own parser, so comments and
// strings cannot fool it), and each `${…}` inside it must be on the allowlist below: constant
// fragments (column lists, table names chosen from fixed maps, clauses assembled from constant
// strings). Values always travel as ClickHouse parameters ({name:Type}). A new interpolation fails
// this test until someone has looked at it and added it here with the reason.

const ROOT = path.resolve(import.meta.dirname, "../../origin/src");

/** file (relative to origin/src) → interpolated expressions allowed in its SQL, and why. */
const ALLOWED: Record<string, Record<string, string>> = {
  "aggregation/build-query.ts": {
    CATEGORY_EXPR: "constant expression",
    '[...axisCols, COUNTS].join(",\\n  ")': "columns chosen from a fixed map by the validated axis enum",
    'where.join("\\n  AND ")': "constant clauses with {param:Type} placeholders",
    'groupCols.join(", ")': "axis_0, axis_1: aliases numbered by position",
  },
  "analysis/command.ts": { 'probeCc.length ? " AND probe_cc IN {probe_cc:Array(String)}" : ""': "constant clause with a placeholder" },
  "analysis/query.ts": {
    'where.join(" AND ")': "constant clauses with {param:Type} placeholders",
    'rates("ctrl_tls_success_ips", "ctrl_tls_failing_ips")': "constant expression over constant column names",
    'rates("ctrl_tcp_success_ips", "ctrl_tcp_failing_ips")': "constant expression over constant column names",
    ipMap: "constant expression",
    ofReports: "constant clause with a placeholder, or nothing",
    window: "constant clauses with placeholders",
    'cols.join(", ")': "constant column list (ANALYSIS_COLUMNS)",
    'outer.join(", ")': "constant column list (ANALYSIS_COLUMNS, renamed)",
    'topRule("dns")': "constant expression",
    'topRule("tcp")': "constant expression",
    'topRule("tls")': "constant expression",
    RULES_VERSION: "numeric constant",
    'layerSql("tls", TLS_RULES)': "rule cascade generated from the constant rule tables (analysis/rules.ts)",
    'layerSql("tcp", TCP_RULES)': "rule cascade generated from the constant rule tables",
    'layerSql("dns", DNS_RULES)': "rule cascade generated from the constant rule tables",
    INPUTS: "constant expressions",
    "experiment(scope)": "constant subquery; the scope only chooses which placeholder clauses appear",
    DNS_FINGERPRINTS: "constant subquery",
    "groundTruth(scope)": "constant subquery; the scope only chooses which placeholder clauses appear",
    'scope.uids ? "WHERE experiment.measurement_uid IN {uids:Array(String)}" : ""': "constant clause with a placeholder",
  },
  "analysis/table.ts": { 'ANALYSIS_COLUMNS.map(([n, t]) => `  ${n} ${t}`).join(",\\n")': "constant column definitions" },
  "changepoints/route.ts": {
    'COLUMNS.join(", ")': "constant column list",
    "f.clause()": "constant clauses with placeholders (Filters, pipeline-api/common.ts)",
  },
  "changepoints/store.ts": {
    'probeCc.length ? "AND probe_cc IN {probe_cc:Array(String)}" : ""': "constant clause with a placeholder",
    'cols.join(", ")': "constant column list (argMax over the fixed signals' state columns)",
  },
  "changepoints/table.ts": {
    '["dns_isp_blocked", "dns_other_blocked", "tcp_blocked", "tls_blocked"].map(signalColumns).join(",")': "constant column definitions (DDL)",
  },
  "observations/columns.ts": {
    name: "one of two fixed table names",
    'columns.map(([n, t]) => `  ${n} ${t}`).join(",\\n")': "constant column definitions",
    MONTH_PARTITION: "constant expression",
    'orderBy.join(", ")': "constant sort key",
  },
  "pipeline-api/analysis.ts": {
    'keys.join(", ")': "dimension names from a fixed list (validated axis enum and fixed filter columns)",
    '[...dims.values()].join(", ")': "dimension expressions: fixed columns, or toStartOf…() from a fixed map by the validated time_grain",
    'topFailure("dns_failure_kind", "dns")': "constant expression",
    'topFailure("top_tcp_failure", "tcp")': "constant expression",
    'topFailure("top_tls_failure", "tls")': "constant expression",
    where: "constant clauses with placeholders",
    'ENTRY_COLUMNS.join(", ")': "constant column list",
    "f.clause()": "constant clauses with placeholders (Filters, pipeline-api/common.ts)",
    'q.order_by ?? "measurement_start_time"': "column from a validated enum",
    '(q.order ?? "DESC").toUpperCase()': "ASC or DESC (validated enum)",
  },
  "pipeline-api/observations.ts": {
    'LIST_COLUMNS.join(", ")': "constant column list",
    "f.clause()": "constant clauses with placeholders (Filters, pipeline-api/common.ts)",
    'q.order_by ?? "measurement_start_time"': "column from a validated enum",
    '(q.order ?? "DESC").toUpperCase()': "ASC or DESC (validated enum)",
    'cols.join(", ")': "fixed column names, toStartOf…() from a fixed map by the validated time_grain, the constant failure expression",
    '[...new Set(group)].join(", ")': "group_by values checked against the fixed key list, and fixed filter columns",
    'order.join(", ")': "observation_count and timestamp",
  },
  "pipeline-api/common.ts": {
    lo: "one of two fixed comparison operators (>= or >)",
    hi: "one of two fixed comparison operators (<= or <)",
    'this.where.join(" AND ")': "constant clauses with placeholders; columns and types come from code",
  },
  "db/migrations.ts": { name: "table names from the migration list" },
  "dev/seed-fastpath.ts": { LUT_SIZE: "numeric constant", ASN_SLOTS: "numeric constant", LOCAL_SLOTS: "numeric constant", table: "one of two fixed table names" },
  "export/export.ts": { 'sliced ? " WHERE cityHash64(*) % {n:UInt32} = {i:UInt32}" : ""': "constant clause with placeholders" },
  "fastpath/pipeline/store.ts": { cols: "constant column list", "TABLE[kind]": "fixed map", tmp: "constant staging table name" },
  "incidents/store.ts": { COLUMNS: "constant column list", "ORDER_BY[q.sort_by]": "fixed map indexed by a validated enum", 'q.order === "asc" ? "ASC" : "DESC"': "one of two keywords" },
  "measurements/list.ts": { 'where.join("\\n  AND ")': "constant clauses with placeholders", "f.orderBy": "column from a fixed map (validated enum)", dir: "ASC or DESC" },
  "measurements/meta.ts": { COLUMNS: "constant column list", table: "one of two fixed table names", MATCH_INPUT: "constant clause with placeholders", INPUT_RANK: "constant expression with a placeholder" },
  "oonirun/store.ts": { COLUMNS: "constant column list" },
  "priorities/store.ts": { MATCH_TARGET: "constant clause", 'withPriority ? "AND priority = {priority:Int32}" : ""': "constant clause with a placeholder" },
  "stats/routes/circumvention.ts": { 'where.join(" AND ")': "constant clauses with placeholders" },
  "stats/routes/overview.ts": { column: "one of two fixed column names" },
  "stats/routes/websites.ts": { where: "constant clause with placeholders" },
  "updaters/swap.ts": {
    table: "fixed table names of the updaters",
    'final ? " FINAL" : ""': "keyword",
    "opts.staging": "fixed staging table names",
    "r.opts.staging": "fixed staging table names",
    "r.opts.live": "fixed table names",
  },
};

const SQL_TEXT = /\b(SELECT|INSERT\s+INTO|ALTER\s+TABLE|CREATE\s+TABLE|DROP\s+TABLE|TRUNCATE|EXCHANGE\s+TABLES|OPTIMIZE\s+TABLE|WHERE|FROM|PREWHERE|ORDER\s+BY|GROUP\s+BY)\b|\{\w+:[A-Z]\w*/;

function files(dir: string, out: string[] = []): string[] {
  for (const f of readdirSync(dir)) {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) files(p, out);
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

interface Finding {
  file: string;
  line: number;
  expr: string;
}

function scan(): { templates: number; interpolations: Finding[]; concatenations: Finding[] } {
  let templates = 0;
  const interpolations: Finding[] = [];
  const concatenations: Finding[] = [];
  for (const file of files(ROOT)) {
    const rel = path.relative(ROOT, file);
    const src = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
    const lineOf = (n: ts.Node) => src.getLineAndCharacterOfPosition(n.getStart()).line + 1;
    const visit = (node: ts.Node) => {
      if (ts.isTemplateExpression(node)) {
        const text = [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].join(" ");
        if (SQL_TEXT.test(text)) {
          templates++;
          for (const span of node.templateSpans) interpolations.push({ file: rel, line: lineOf(span.expression), expr: span.expression.getText() });
        }
      }
      // "SELECT … " + value: SQL glued with + (string literals on either side of a +).
      if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
        for (const side of [node.left, node.right]) {
          if ((ts.isStringLiteral(side) || ts.isNoSubstitutionTemplateLiteral(side)) && SQL_TEXT.test(side.text)) {
            concatenations.push({ file: rel, line: lineOf(node), expr: node.getText().slice(0, 120) });
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(src);
  }
  return { templates, interpolations, concatenations };
}

describe("SQL is parameterized", () => {
  it("every interpolation in SQL text under origin/src is an allowlisted constant fragment; no SQL is built with +", () => {
    const { templates, interpolations, concatenations } = scan();
    const unexpected = interpolations.filter((f) => ALLOWED[f.file]?.[f.expr] === undefined).map((f) => `${f.file}:${f.line} \${${f.expr}}`);
    // The allowlist must not keep entries for code that is gone (it would silently allow them again).
    const seen = new Set(interpolations.map((f) => `${f.file}\u0000${f.expr}`));
    const stale = Object.entries(ALLOWED).flatMap(([file, m]) => Object.keys(m).filter((e) => !seen.has(`${file}\u0000${e}`)).map((e) => `${file}: ${e}`));
    report("security", "sql guard (static)", { sql_templates: templates, interpolations: interpolations.length, unexpected: unexpected.length, concatenations: concatenations.length });
    expect(templates).toBeGreaterThan(20); // the scan found the SQL (a broken scan would find none)
    expect(unexpected).toEqual([]);
    expect(stale).toEqual([]);
    expect(concatenations.map((c) => `${c.file}:${c.line} ${c.expr}`)).toEqual([]);
  });
});
