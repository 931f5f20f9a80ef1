// The status page for people: one self-contained HTML document (inline CSS, no script, no external
// resource), so it renders the same from the Worker, a saved file, or a test harness. It reloads
// itself every 15 s.
import { formatShare, type StatusReport } from "./status";

function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1a1a1a;background:#fafafa}
h1{font-size:1.3rem;margin:0 0 .2rem}h2{font-size:1.05rem;margin:1.6rem 0 .4rem}
p.meta{color:#555;margin:0 0 1rem}
table{border-collapse:collapse;background:#fff;min-width:40rem}
th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.state-up{color:#0a6b2d;font-weight:600}.state-down{color:#b00020;font-weight:600}.state-drained{color:#8a6d00;font-weight:600}
.empty{color:#777;font-style:italic}
`;

export function renderStatusPage(r: StatusReport): string {
  const rows = r.pool
    .map(
      (h) => `<tr data-helper="${esc(h.id)}">
<td class="id">${esc(h.id)}</td>
<td class="url">${esc(h.url)}</td>
<td class="state state-${h.state}">${h.state}</td>
<td class="weight num">${esc(h.weight)}</td>
<td class="expected num">${formatShare(h.expected_share)}</td>
<td class="observed num">${formatShare(h.observed_share)}</td>
<td class="served num">${h.served}</td>
<td class="failures num">${h.consecutive_failures}</td>
<td class="check">${h.last_check ? `${h.last_check.ok ? "ok" : "failed"}: ${esc(h.last_check.detail)} (${esc(h.last_check.at)})` : "not yet checked"}</td>
<td class="since">${esc(h.since)}</td>
</tr>`,
    )
    .join("\n");
  const failures = r.recent_failures.length
    ? r.recent_failures
        .map(
          (f) =>
            `<tr><td>${esc(f.at)}</td><td>${esc(f.helper)}</td><td>${esc(f.source)}</td><td>${esc(f.kind)}</td><td>${esc(f.detail)}</td></tr>`,
        )
        .join("\n")
    : `<tr><td colspan="5" class="empty">none</td></tr>`;
  const c = r.cache;
  const routes = c.routes.map((x) => `<tr><td>${esc(x.prefix)}</td><td class="num">${x.generation}</td></tr>`).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="15">
<title>Bridge ${esc(r.bridge)} — status</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Bridge <span id="bridge-name">${esc(r.bridge)}</span></h1>
<p class="meta">Generated ${esc(r.generated_at)} · shared state version ${r.state.version} (Durable Object, since ${esc(r.state.started_at)}) · traffic over the last ${r.window_minutes} minutes · client key /${r.client_prefix.v4} (IPv4), /${r.client_prefix.v6} (IPv6) · <a href="?format=json">JSON</a></p>

<h2>Test-helper pool</h2>
<table id="pool">
<thead><tr><th>Helper</th><th>URL</th><th>State</th><th>Weight</th><th>Expected share</th><th>Observed share</th><th>Requests</th><th>Failures in a row</th><th>Last check</th><th>Since</th></tr></thead>
<tbody>
${rows || `<tr><td colspan="10" class="empty">no helpers configured</td></tr>`}
</tbody>
</table>
<p class="meta">${r.served_total} helper requests answered in the window. Helper hostnames: ${r.helper_hostnames.length ? r.helper_hostnames.map(esc).join(", ") : "none"} (and POST / on every hostname).</p>

<h2>Recent failures</h2>
<table id="failures">
<thead><tr><th>When</th><th>Helper</th><th>Seen by</th><th>Kind</th><th>Detail</th></tr></thead>
<tbody>
${failures}
</tbody>
</table>

<h2>Edge cache</h2>
<table id="cache">
<tbody>
<tr><th>Hit ratio</th><td class="num" id="hit-ratio">${formatShare(c.hit_ratio)}</td></tr>
<tr><th>Hits</th><td class="num">${c.hit}</td></tr>
<tr><th>Stale served</th><td class="num">${c.stale}</td></tr>
<tr><th>Misses</th><td class="num">${c.miss}</td></tr>
<tr><th>Bypassed</th><td class="num">${c.bypass}</td></tr>
</tbody>
</table>
<h2>Cached routes</h2>
<table id="routes">
<thead><tr><th>Prefix</th><th>Generation</th></tr></thead>
<tbody>
${routes || `<tr><td colspan="2" class="empty">none</td></tr>`}
</tbody>
</table>
</body>
</html>
`;
}
