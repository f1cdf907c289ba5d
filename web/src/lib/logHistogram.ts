/** The severity histogram as uPlot columns: every bucket of the range (empty ones as 0), and
 * cumulative stacks drawn top severity first so each lower one paints over the bars above it. */
import type uPlot from "uplot";
import { SEVERITIES, type LogHistogram, type LogSeverity } from "../api/logs";

/** At most this many buckets are filled in; beyond it only the returned ones are drawn. */
const MAX_FILL = 5000;

export interface HistogramColumns {
  xs: number[];
  /** Raw counts per severity, aligned with xs. */
  counts: Record<LogSeverity, number[]>;
  /** Draw order: the top of the stack (CRITICAL, the total) first, DEBUG last. */
  order: LogSeverity[];
  data: uPlot.AlignedData;
  totals: Record<LogSeverity, number>;
  step: number;
}

function zeros(): Record<LogSeverity, number> {
  return { DEBUG: 0, INFO: 0, WARNING: 0, ERROR: 0, CRITICAL: 0 };
}

export function histogramColumns(h: LogHistogram, range: [number, number]): HistogramColumns {
  const step = h.step_seconds > 0 ? h.step_seconds : 60;
  const byTs = new Map<number, Record<string, number>>();
  for (const b of h.buckets) byTs.set(Date.parse(b.ts) / 1000, b.counts);
  let xs: number[];
  const first = Math.floor(range[0] / step) * step;
  if ((range[1] - first) / step <= MAX_FILL) {
    xs = [];
    for (let t = first; t < range[1]; t += step) xs.push(t);
    const have = new Set(xs);
    for (const t of byTs.keys()) if (!have.has(t)) xs.push(t);
    xs.sort((a, b) => a - b);
  } else {
    xs = [...byTs.keys()].sort((a, b) => a - b);
  }
  const counts = { DEBUG: [], INFO: [], WARNING: [], ERROR: [], CRITICAL: [] } as Record<LogSeverity, number[]>;
  const totals = zeros();
  for (const t of xs) {
    const c = byTs.get(t) ?? {};
    for (const s of SEVERITIES) {
      const n = c[s] ?? 0;
      counts[s].push(n);
      totals[s] += n;
    }
  }
  // stack[s] = counts of s and every severity below it
  const stacks = new Map<LogSeverity, number[]>();
  let running = xs.map(() => 0);
  for (const s of SEVERITIES) {
    running = running.map((v, i) => v + (counts[s][i] ?? 0));
    stacks.set(s, running);
  }
  const order = [...SEVERITIES].reverse();
  const data = [xs, ...order.map((s) => stacks.get(s) ?? [])] as uPlot.AlignedData;
  return { xs, counts, order, data, totals, step };
}
