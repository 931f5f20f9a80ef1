// The two-sided CUSUM changepoint detector of OONI's pipeline (ooni/data
// oonipipeline/analysis/detector.py), ported rule for rule. Pure: no database here.
//
// One detector follows one signal (say tcp_blocked) of one series (probe_cc, probe_asn, domain),
// hour by hour. It knows which state the series is in — "ok", "blk", or "unk" before it has seen
// enough — and accumulates evidence against that state only:
//   ok:  s_pos grows by (y − mu0) − v/2 per hour; past h the series turned blocked (change +1).
//   blk: s_neg grows by (mu1 − y) − v/2 per hour; past h it turned unblocked (change −1).
//   unk: both run; the first to pass h sets the state silently (nothing is emitted).
// Both are floored at 0. With upstream's figures (mu0 0, mu1 0.7, edd 10) v = 0.7, h = 3.5: six
// or seven fully blocked hours after an ok period make a changepoint; a lone spike never does.
// After a silence longer than a day both accumulators decay, halving every `gapHalflifeH` hours.

export type State = "ok" | "blk" | "unk";
/** +1: blocking went up; −1: it went down; 0: no change. */
export type Change = 1 | 0 | -1;

/** Upstream's defaults as run_detector uses them (its CusumDetector class defaults edd to 20; the runs pass 10). */
export const DETECTOR_DEFAULTS = { mu0: 0.0, mu1: 0.7, edd: 10, gapHalflifeH: 48 } as const;

/** One hour of one series, as the detector's input query groups analysis rows. */
export interface HourObservation {
  probe_cc: string;
  probe_asn: number;
  domain: string;
  /** Start of the hour, epoch ms. */
  ts: number;
  count_isp_resolver: number;
  count_other_resolver: number;
  count: number;
  dns_isp_blocked: number;
  dns_other_blocked: number;
  tcp_blocked: number;
  tls_blocked: number;
}

/** The signals watched, each with the count that weighs it (0 measurements: the hour is skipped). */
export const SIGNALS = [
  ["dns_isp_blocked", "count_isp_resolver"],
  ["dns_other_blocked", "count_other_resolver"],
  ["tcp_blocked", "count"],
  ["tls_blocked", "count"],
] as const;
export type Signal = (typeof SIGNALS)[number][0];

/** What a detector carries from one run to the next (event_detector_cusums, per signal). */
export interface SignalState {
  current_state: State;
  last_change: Change;
  s_pos: number;
  s_neg: number;
  /** Epoch ms of the last hour that had measurements, or null. */
  last_ts: number | null;
}

export const FRESH_STATE: Readonly<SignalState> = { current_state: "unk", last_change: 0, s_pos: 0, s_neg: 0, last_ts: null };

export interface Changepoint extends HourObservation {
  change_dir: 1 | -1;
  s_pos: number;
  s_neg: number;
  /** The state the series was in when the change was detected (the state it left). */
  current_state: State;
  h: number;
  block_type: Signal;
}

export interface DetectorOptions {
  mu0?: number;
  mu1?: number;
  edd?: number;
  gapHalflifeH?: number;
  /** Establish state without emitting changepoints (upstream's --warmup). */
  warmup?: boolean;
}

export class CusumDetector {
  readonly mu0: number;
  readonly mu1: number;
  readonly v: number;
  readonly h: number;
  private readonly halflife: number;
  state: SignalState;

  constructor(state: SignalState = FRESH_STATE, opts: DetectorOptions = {}) {
    this.mu0 = opts.mu0 ?? DETECTOR_DEFAULTS.mu0;
    this.mu1 = opts.mu1 ?? DETECTOR_DEFAULTS.mu1;
    this.v = this.mu1 - this.mu0;
    this.h = ((opts.edd ?? DETECTOR_DEFAULTS.edd) * this.v) / 2;
    this.halflife = opts.gapHalflifeH ?? DETECTOR_DEFAULTS.gapHalflifeH;
    this.state = { ...state };
  }

  /** Feeds one hour's value y weighed by w measurements; the change it reveals, if any. */
  step(y: number, w: number, ts: number, warmup = false): Change {
    if (w === 0) return 0;
    this.decay(ts);
    const s = this.state;
    const zPos = y - this.mu0;
    const zNeg = y - this.mu1;
    const half = this.v / 2;
    if (s.current_state === "unk") {
      s.s_pos = Math.max(0, s.s_pos + zPos - half);
      s.s_neg = Math.max(0, s.s_neg - zNeg - half);
      if (s.s_pos > this.h) {
        s.current_state = "blk";
        this.reset();
      } else if (s.s_neg > this.h) {
        s.current_state = "ok";
        this.reset();
      }
      return 0;
    }
    if (s.current_state === "ok") {
      s.s_pos = Math.max(0, s.s_pos + zPos - half);
      s.s_neg = 0;
      if (!warmup && s.s_pos > this.h) {
        // Upstream never emits the same direction twice in a row; it restarts the count instead.
        if (s.last_change !== 1) return 1;
        this.reset();
      }
    } else {
      s.s_neg = Math.max(0, s.s_neg - zNeg - half);
      s.s_pos = 0;
      if (!warmup && s.s_neg > this.h) {
        if (s.last_change !== -1) return -1;
        this.reset();
      }
    }
    return 0;
  }

  /** Runs a series of one (cc, asn, domain), sorted by hour, on one signal. */
  run(hours: readonly HourObservation[], signal: Signal, countCol: (typeof SIGNALS)[number][1], warmup = false): Changepoint[] {
    const out: Changepoint[] = [];
    for (const o of hours) {
      const change = this.step(o[signal], o[countCol], o.ts, warmup);
      if (change === 0) continue;
      const s = this.state;
      out.push({ ...o, change_dir: change, s_pos: s.s_pos, s_neg: s.s_neg, current_state: s.current_state, h: this.h, block_type: signal });
      s.last_change = change;
      s.current_state = change === 1 ? "blk" : "ok";
      this.reset();
    }
    return out;
  }

  private reset(): void {
    this.state.s_pos = 0;
    this.state.s_neg = 0;
  }

  /** Only a gap of more than a day decays the accumulators. */
  private decay(ts: number): void {
    const s = this.state;
    if (s.last_ts !== null) {
      const gapH = (ts - s.last_ts) / 3_600_000;
      if (gapH > 24) {
        const f = 0.5 ** (gapH / this.halflife);
        s.s_pos *= f;
        s.s_neg *= f;
      }
    }
    s.last_ts = ts;
  }
}

export type SeriesKey = string;
export const seriesKey = (cc: string, asn: number, domain: string): SeriesKey => `${cc}_${asn}_${domain}`;

/** The state of every signal of one series, and the last hour it saw (event_detector_cusums row). */
export interface SeriesState {
  probe_cc: string;
  probe_asn: number;
  domain: string;
  ts: number;
  signals: Record<Signal, SignalState>;
}

export function freshSeries(probe_cc: string, probe_asn: number, domain: string, ts: number): SeriesState {
  const signals = Object.fromEntries(SIGNALS.map(([s]) => [s, { ...FRESH_STATE }])) as Record<Signal, SignalState>;
  return { probe_cc, probe_asn, domain, ts, signals };
}

/**
 * Runs every signal of every series in `hours` (sorted by cc, asn, domain, hour), starting each
 * from its stored state. Returns the changepoints and each series' new state.
 */
export function detectChangepoints(
  hours: readonly HourObservation[],
  prior: ReadonlyMap<SeriesKey, SeriesState>,
  opts: DetectorOptions = {},
): { changepoints: Changepoint[]; states: SeriesState[] } {
  const changepoints: Changepoint[] = [];
  const states: SeriesState[] = [];
  let i = 0;
  while (i < hours.length) {
    const first = hours[i]!;
    const key = seriesKey(first.probe_cc, first.probe_asn, first.domain);
    let j = i;
    while (j < hours.length && seriesKey(hours[j]!.probe_cc, hours[j]!.probe_asn, hours[j]!.domain) === key) j++;
    const group = hours.slice(i, j);
    i = j;
    const maxTs = Math.max(...group.map((o) => o.ts));
    const before = prior.get(key);
    const series = before ? { ...before, signals: { ...before.signals } } : freshSeries(first.probe_cc, first.probe_asn, first.domain, maxTs);
    for (const [signal, countCol] of SIGNALS) {
      const d = new CusumDetector(series.signals[signal], opts);
      changepoints.push(...d.run(group, signal, countCol, opts.warmup ?? false));
      series.signals[signal] = d.state;
    }
    series.ts = maxTs;
    states.push(series);
  }
  return { changepoints, states };
}
