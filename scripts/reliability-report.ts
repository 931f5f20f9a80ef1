import { readFileSync } from "node:fs";
import { z } from "zod";

// Turns the JSON lines the reliability suites append to $RELIABILITY_REPORT (test/support/reliability.ts)
// into the markdown tables of docs/reliability.md:
//   RELIABILITY_REPORT=/tmp/rel.jsonl npm run test:faults
//   node --import tsx scripts/reliability-report.ts /tmp/rel.jsonl
// The last line per (suite, scenario, scale) wins, so a file appended over several runs stays usable.

const Line = z.looseObject({ suite: z.string(), scenario: z.string(), full: z.boolean(), at: z.string() });
type Line = z.infer<typeof Line> & Record<string, unknown>;

function main(argv: string[]): number {
  const file = argv[0];
  if (!file) {
    process.stderr.write("usage: reliability-report <report.jsonl>\n");
    return 64;
  }
  const latest = new Map<string, Line>();
  const text = readFileSync(file, "utf8");
  for (const [i, raw] of text.split("\n").entries()) {
    if (!raw.trim()) continue;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      process.stderr.write(`${file}:${i + 1}: not JSON, skipped\n`);
      continue;
    }
    const parsed = Line.safeParse(json);
    if (!parsed.success) {
      process.stderr.write(`${file}:${i + 1}: not a report line, skipped\n`);
      continue;
    }
    latest.set(`${parsed.data.suite}\u0000${parsed.data.scenario}\u0000${parsed.data.full}`, parsed.data as Line);
  }
  const bySuite = new Map<string, Line[]>();
  for (const line of latest.values()) {
    const list = bySuite.get(line.suite) ?? [];
    list.push(line);
    bySuite.set(line.suite, list);
  }
  const out: string[] = [];
  for (const [suite, lines] of [...bySuite].sort(([a], [b]) => a.localeCompare(b))) {
    lines.sort((a, b) => a.scenario.localeCompare(b.scenario) || Number(a.full) - Number(b.full));
    const keys = [...new Set(lines.flatMap((l) => Object.keys(l)))].filter((k) => !["suite", "scenario", "full", "at"].includes(k));
    const lead = ["acknowledged", "stored", "duplicates"].filter((k) => keys.includes(k));
    const cols = [...lead, ...keys.filter((k) => !lead.includes(k))];
    out.push(`### ${suite}`, "", `| scenario | scale | ${cols.join(" | ")} |`, `|---|---|${cols.map(() => "---|").join("")}`);
    for (const l of lines) {
      out.push(`| ${l.scenario} | ${l.full ? "full" : "quick"} | ${cols.map((c) => (l[c] === undefined ? "" : String(l[c]))).join(" | ")} |`);
    }
    out.push("");
  }
  process.stdout.write(out.join("\n"));
  return 0;
}

process.exitCode = main(process.argv.slice(2));
