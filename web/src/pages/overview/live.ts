/**
 * Live figures from `metrics` frames: rates from successive counter samples, latest gauges.
 * Pure bookkeeping (no React), so the overview page stays a thin view over it.
 */

export interface LiveSample {
  metric: string;
  labels: Record<string, string>;
  value: number;
  ts: string;
}

export const LIVE_METRICS = [
  "agent_requests_total",
  "agent_errors_total",
  "agent_cpu_percent",
  "agent_memory_percent",
] as const;

export interface AgentLive {
  requestRate?: number;
  errorRate?: number | null;
  cpu?: number;
  memory?: number;
  lastSeen?: string;
}

interface Point {
  t: number; // ms
  v: number;
}

function seriesKey(sample: LiveSample): string {
  const labels = Object.entries(sample.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return `${sample.metric}{${labels}}`;
}

/** Per-second rate between two counter samples; a drop is a restart (counted from 0). */
export function counterRate(previous: Point, next: Point): number | null {
  const seconds = (next.t - previous.t) / 1000;
  if (seconds <= 0) return null;
  const delta = next.v >= previous.v ? next.v - previous.v : next.v;
  return delta / seconds;
}

export class LiveFleet {
  private readonly last = new Map<string, Point>();
  /** series key → its latest rate (counters) or value (gauges), with its agent. */
  private readonly rates = new Map<string, { agent: string; metric: string; value: number }>();
  private readonly gauges = new Map<string, { agent: string; metric: string; value: number }>();
  private readonly seen = new Map<string, string>();

  /** Fold a frame's samples in; returns the agents whose figures changed. */
  ingest(samples: LiveSample[]): Set<string> {
    const changed = new Set<string>();
    for (const sample of samples) {
      const agent = sample.labels.agent;
      if (!agent) continue;
      const key = seriesKey(sample);
      const t = Date.parse(sample.ts);
      if (Number.isNaN(t)) continue;
      const previousSeen = this.seen.get(agent);
      if (!previousSeen || Date.parse(previousSeen) < t) this.seen.set(agent, sample.ts);
      changed.add(agent);
      if (sample.metric.endsWith("_total")) {
        const before = this.last.get(key);
        if (before && t > before.t) {
          const rate = counterRate(before, { t, v: sample.value });
          if (rate !== null) this.rates.set(key, { agent, metric: sample.metric, value: rate });
        }
        if (!before || t > before.t) this.last.set(key, { t, v: sample.value });
      } else {
        this.gauges.set(key, { agent, metric: sample.metric, value: sample.value });
      }
    }
    return changed;
  }

  private sum(metric: string, agent?: string): number | undefined {
    let total: number | undefined;
    for (const entry of this.rates.values()) {
      if (entry.metric === metric && (agent === undefined || entry.agent === agent)) {
        total = (total ?? 0) + entry.value;
      }
    }
    return total;
  }

  private mean(metric: string, agent: string): number | undefined {
    let total = 0;
    let n = 0;
    for (const entry of this.gauges.values()) {
      if (entry.metric === metric && entry.agent === agent) {
        total += entry.value;
        n += 1;
      }
    }
    return n ? total / n : undefined;
  }

  agent(name: string): AgentLive {
    const requests = this.sum("agent_requests_total", name);
    const errors = this.sum("agent_errors_total", name);
    const out: AgentLive = {};
    if (requests !== undefined) {
      out.requestRate = requests;
      out.errorRate = requests > 0 ? (errors ?? 0) / requests : null;
    }
    const cpu = this.mean("agent_cpu_percent", name);
    const memory = this.mean("agent_memory_percent", name);
    if (cpu !== undefined) out.cpu = cpu;
    if (memory !== undefined) out.memory = memory;
    const seen = this.seen.get(name);
    if (seen) out.lastSeen = seen;
    return out;
  }

  /** The fleet's request rate and error ratio from the latest rate of every agent. */
  fleet(): { requestRate: number; errorRate: number | null } | null {
    const requests = this.sum("agent_requests_total");
    if (requests === undefined) return null;
    const errors = this.sum("agent_errors_total") ?? 0;
    return { requestRate: requests, errorRate: requests > 0 ? errors / requests : null };
  }
}

/** Append a point, keeping the series within `spanSeconds` of its newest point. */
export function appendPoint(
  points: [number, number | null][],
  point: [number, number | null],
  spanSeconds: number,
): [number, number | null][] {
  const last = points[points.length - 1];
  const next = last && last[0] >= point[0] ? points.slice(0, -1) : points.slice();
  next.push(point);
  const cut = point[0] - spanSeconds;
  return next.filter(([t]) => t >= cut);
}

/**
 * Call `fn` at most once per `gapMs`: at once when idle, else once at the end of the gap.
 * Used to refresh REST figures when events say something changed, without polling.
 */
export function throttle(
  fn: () => void,
  gapMs: number,
  now: () => number = Date.now,
  setTimer: (f: () => void, ms: number) => unknown = (f, ms) => setTimeout(f, ms),
): { call: () => void; cancel: () => void } {
  let lastRun = -Infinity;
  let pending: unknown = null;
  let cancelled = false;
  const run = (): void => {
    pending = null;
    if (cancelled) return;
    lastRun = now();
    fn();
  };
  return {
    call: () => {
      if (cancelled || pending !== null) return;
      const wait = lastRun + gapMs - now();
      if (wait <= 0) run();
      else pending = setTimer(run, wait);
    },
    cancel: () => {
      cancelled = true;
      if (pending !== null) clearTimeout(pending as ReturnType<typeof setTimeout>);
    },
  };
}
