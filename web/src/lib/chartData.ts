/** Series data for the uPlot charts: alignment, colours and value formatting. */
import type uPlot from "uplot";
import { formatUnit, type Unit } from "./format";

export interface ChartSeries {
  label: string;
  points: [number, number | null][]; // [seconds, value]
  /** Draw straight across timestamps where this series has no point (e.g. a threshold line
   * given by its two ends); a gap in the data stays a gap otherwise. */
  spanGaps?: boolean;
  /** Dashed line (reference lines such as thresholds). */
  dashed?: boolean;
}

/** The first colours are hand-picked; past them, hues step by the golden angle with the
 * lightness alternating, so 40 series (or 400) never share a colour. */
const PALETTE = [
  "#6366f1", "#10b981", "#f59e0b", "#ef4444", "#06b6d4", "#a855f7", "#84cc16", "#ec4899",
  "#3b82f6", "#14b8a6", "#f97316", "#8b5cf6",
];

export function seriesColor(index: number): string {
  const fixed = PALETTE[index];
  if (fixed) return fixed;
  const k = index - PALETTE.length;
  const hue = Math.round((k * 137.508 + 17) % 360);
  const lightness = [52, 40, 64][k % 3];
  return `hsl(${hue} ${k % 2 ? 60 : 75}% ${lightness}%)`;
}

/** Columns for uPlot: the union of timestamps, each series null where it has no point. */
export function alignSeries(series: ChartSeries[]): uPlot.AlignedData {
  const times = new Set<number>();
  for (const s of series) for (const [t] of s.points) times.add(t);
  const xs = [...times].sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const columns: (number | null)[][] = series.map((s) => {
    const col: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    for (const [t, v] of s.points) {
      const i = index.get(t);
      if (i !== undefined) col[i] = v;
    }
    return col;
  });
  return [xs, ...columns] as uPlot.AlignedData;
}

/** A value as charts show it (see `formatUnit`, the one formatter). */
export function formatValue(v: number | null | undefined, unit: Unit = ""): string {
  return formatUnit(v, unit);
}

export interface SeriesStats {
  last: number | null;
  min: number | null;
  avg: number | null;
  max: number | null;
}

/** Last, min, mean and max of a series' finite values (the table legend's columns). */
export function seriesStats(points: [number, number | null][]): SeriesStats {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let n = 0;
  let last: number | null = null;
  for (const [, v] of points) {
    if (v === null || !Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    n += 1;
    last = v;
  }
  return n === 0 ? { last: null, min: null, avg: null, max: null } : { last, min, avg: sum / n, max };
}

/** The series of a query result that belong to one alert: each of the series' own labels
 * (bar the metric name) equals the alert's label of that name. */
export function seriesOfAlert<T extends { metric: Record<string, string> }>(
  series: T[],
  alertLabels: Record<string, string>,
): T[] {
  return series.filter((s) =>
    Object.entries(s.metric).every(([k, v]) => k === "__name__" || alertLabels[k] === v),
  );
}
