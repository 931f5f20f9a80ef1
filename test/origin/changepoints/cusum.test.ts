import { describe, expect, it } from "vitest";
import { CusumDetector, detectChangepoints, FRESH_STATE, type HourObservation } from "../../../origin/src/changepoints/cusum";
import { nextTimerWindow, windows } from "../../../origin/src/changepoints/run";

// The CUSUM rule on synthetic hourly series: a step change is found at the right hour and in the
// right direction; a flat noisy series, a lone spike and silent hours are not changes.

const H = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);

/** A seeded PRNG, so the noisy series are the same on every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function series(values: number[], opts: { domain?: string; count?: number; start?: number } = {}): HourObservation[] {
  return values.map((v, i) => ({
    probe_cc: "IT", probe_asn: 30722, domain: opts.domain ?? "twitter.com", ts: (opts.start ?? T0) + i * H,
    count_isp_resolver: opts.count ?? 3, count_other_resolver: 0, count: opts.count ?? 3,
    dns_isp_blocked: v, dns_other_blocked: Number.NaN, tcp_blocked: 0, tls_blocked: 0,
  }));
}

describe("CusumDetector", () => {
  it("uses upstream's figures: h = edd·(mu1 − mu0)/2 = 3.5", () => {
    const d = new CusumDetector();
    expect([d.mu0, d.mu1, d.v, d.h]).toEqual([0, 0.7, 0.7, 3.5]);
  });

  it("a step from ok to blocked is a changepoint up at the 7th blocked hour; the step back is one down", () => {
    const values = [...Array(24).fill(0), ...Array(24).fill(0.9), ...Array(24).fill(0)];
    const { changepoints } = detectChangepoints(series(values), new Map());
    const dns = changepoints.filter((c) => c.block_type === "dns_isp_blocked");
    // ok is established silently after 11 hours at 0 (s_neg grows 0.35 an hour past 3.5); at 0.9
    // s_pos grows 0.55 an hour: 3.85 > 3.5 at the 7th blocked hour (index 30). Back at 0 in the
    // blocked state s_neg grows 0.35 an hour: past 3.5 at the 11th ok hour (index 58).
    expect(dns.map((c) => [(c.ts - T0) / H, c.change_dir, c.current_state])).toEqual([
      [30, 1, "ok"],
      [58, -1, "blk"],
    ]);
    expect(dns[0]!.s_pos).toBeCloseTo(3.85, 6);
    expect(dns[0]!.h).toBe(3.5);
    // The other signals stay ok all along; the NaN (no other resolver) signal has no weight.
    expect(changepoints.filter((c) => c.block_type !== "dns_isp_blocked")).toEqual([]);
  });

  it("a flat noisy series (values around 0.1) gives no changepoint in a month of hours", () => {
    const r = rng(7);
    const values = Array.from({ length: 24 * 30 }, () => Math.min(1, Math.max(0, 0.1 + (r() - 0.5) * 0.4)));
    const { changepoints, states } = detectChangepoints(series(values), new Map());
    expect(changepoints).toEqual([]);
    expect(states[0]!.signals.dns_isp_blocked.current_state).toBe("ok");
  });

  it("a noisy step from ~0.05 to ~0.85 gives exactly one change up, after the step", () => {
    const r = rng(11);
    const noisy = (m: number) => Math.min(1, Math.max(0, m + (r() - 0.5) * 0.3));
    const values = [...Array.from({ length: 72 }, () => noisy(0.05)), ...Array.from({ length: 72 }, () => noisy(0.85))];
    const dns = detectChangepoints(series(values), new Map()).changepoints.filter((c) => c.block_type === "dns_isp_blocked");
    expect(dns).toHaveLength(1);
    const at = (dns[0]!.ts - T0) / H;
    expect(dns[0]!.change_dir).toBe(1);
    expect(at).toBeGreaterThanOrEqual(72);
    expect(at).toBeLessThan(72 + 10);
  });

  it("a few blocked hours are not enough: the spike is absorbed", () => {
    const values = [...Array(24).fill(0), ...Array(5).fill(1), ...Array(24).fill(0)];
    expect(detectChangepoints(series(values), new Map()).changepoints).toEqual([]);
  });

  it("hours without measurements (weight 0) are skipped, not read as ok", () => {
    const d = new CusumDetector({ ...FRESH_STATE, current_state: "ok" });
    for (let i = 0; i < 6; i++) d.step(1, 1, T0 + i * H);
    const before = d.state.s_pos;
    expect(d.step(0, 0, T0 + 6 * H)).toBe(0);
    expect(d.state.s_pos).toBe(before);
    expect(d.step(1, 1, T0 + 7 * H)).toBe(1);
  });

  it("a silence longer than a day decays the accumulators (halved every 48 hours)", () => {
    const d = new CusumDetector({ ...FRESH_STATE, current_state: "ok" });
    for (let i = 0; i < 5; i++) d.step(1, 1, T0 + i * H); // s_pos = 5 × 0.65 = 3.25
    expect(d.state.s_pos).toBeCloseTo(3.25, 9);
    // 48 hours later: 3.25 / 2 + 0.65; without the decay 3.9 would have crossed h.
    expect(d.step(1, 1, T0 + 4 * H + 48 * H)).toBe(0);
    expect(d.state.s_pos).toBeCloseTo(3.25 / 2 + 0.65, 9);
  });

  it("the same direction twice is not emitted: the count restarts instead", () => {
    const d = new CusumDetector({ ...FRESH_STATE, current_state: "ok", last_change: 1 });
    const out = d.run(series(Array(20).fill(1)), "dns_isp_blocked", "count_isp_resolver");
    expect(out).toEqual([]);
    expect(d.state.current_state).toBe("ok");
  });

  it("warmup establishes the state without emitting", () => {
    const values = [...Array(24).fill(0), ...Array(24).fill(1)];
    const { changepoints, states } = detectChangepoints(series(values), new Map(), { warmup: true });
    expect(changepoints).toEqual([]);
    expect(states[0]!.signals.dns_isp_blocked.current_state).toBe("ok");
  });

  it("state carried across runs gives the same changepoints as one run over the whole range", () => {
    const values = [...Array(30).fill(0), ...Array(30).fill(0.9), ...Array(30).fill(0.1)];
    const all = series(values);
    const whole = detectChangepoints(all, new Map()).changepoints;
    let prior = new Map();
    const pieces = [];
    for (let i = 0; i < all.length; i += 7) {
      const r = detectChangepoints(all.slice(i, i + 7), prior);
      pieces.push(...r.changepoints);
      prior = new Map(r.states.map((s) => [`${s.probe_cc}_${s.probe_asn}_${s.domain}`, s]));
    }
    expect(whole.length).toBe(2);
    expect(pieces).toEqual(whole);
  });

  it("series are independent: each (cc, asn, domain) has its own state", () => {
    const a = series([...Array(24).fill(0), ...Array(12).fill(1)], { domain: "a.example" });
    const b = series(Array(36).fill(0), { domain: "b.example" });
    const { changepoints, states } = detectChangepoints([...a, ...b], new Map());
    expect(changepoints.map((c) => c.domain)).toEqual(["a.example"]);
    expect(states.map((s) => [s.domain, s.ts])).toEqual([["a.example", T0 + 35 * H], ["b.example", T0 + 35 * H]]);
  });
});

describe("the timer's window", () => {
  const at = (s: string) => new Date(s);
  it("first run: the last settled hour (the current hour's first half hour is left to late measurements)", () => {
    expect(nextTimerWindow(null, at("2024-05-01T10:40:00Z"))).toEqual([at("2024-05-01T09:00:00Z"), at("2024-05-01T10:00:00Z")]);
    expect(nextTimerWindow(null, at("2024-05-01T10:20:00Z"))).toEqual([at("2024-05-01T08:00:00Z"), at("2024-05-01T09:00:00Z")]);
  });
  it("resumes where the last run ended; nothing when it is up to date", () => {
    expect(nextTimerWindow(at("2024-05-01T06:00:00Z"), at("2024-05-01T10:40:00Z"))).toEqual([at("2024-05-01T06:00:00Z"), at("2024-05-01T10:00:00Z")]);
    expect(nextTimerWindow(at("2024-05-01T10:00:00Z"), at("2024-05-01T10:59:00Z"))).toBeNull();
  });
  it("after a long stop, catches up ten days at most", () => {
    expect(nextTimerWindow(at("2024-01-01T00:00:00Z"), at("2024-05-01T10:40:00Z"))).toEqual([at("2024-04-21T10:00:00Z"), at("2024-05-01T10:00:00Z")]);
  });
  it("a range is cut into 10-day windows, as upstream's command does", () => {
    const w = windows(at("2024-01-01T00:00:00Z"), at("2024-01-25T00:00:00Z"));
    expect(w.map(([a, b]) => [a.toISOString().slice(0, 10), b.toISOString().slice(0, 10)])).toEqual([
      ["2024-01-01", "2024-01-11"], ["2024-01-11", "2024-01-21"], ["2024-01-21", "2024-01-25"],
    ]);
  });
});
