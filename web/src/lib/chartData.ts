/** Series data for the uPlot charts: alignment, colours and value formatting. */
import type uPlot from "uplot";

export interface ChartSeries {
  label: string;
  points: [number, number | null][]; // [seconds, value]
  /** Draw straight across timestamps where this series has no point (e.g. a threshold line
   * given by its two ends); a gap in the data stays a gap otherwise. */
  spanGaps?: boolean;
  /** Dashed line (reference lines such as thresholds). */
  dashed?: boolean;
}

const PALETTE = [
  "#6366f1", "#10b981", "#f59e0b", "#ef4444", "#06b6d4", "#a855f7", "#84cc16", "#ec4899",
  "#3b82f6", "#14b8a6", "#f97316", "#8b5cf6", "#22c55e", "#eab308", "#0ea5e9", "#d946ef",
];

export function seriesColor(index: number): string {
  return PALETTE[index % PALETTE.length] ?? "#6366f1";
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

/** 1234567 → "1.23M", 0.00042 → "0.00042". */
export function formatValue(v: number | null | undefined, unit = ""): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  const abs = Math.abs(v);
  let text: string;
  if (abs >= 1e9) text = `${(v / 1e9).toFixed(2)}G`;
  else if (abs >= 1e6) text = `${(v / 1e6).toFixed(2)}M`;
  else if (abs >= 1e4) text = `${(v / 1e3).toFixed(1)}k`;
  else if (abs >= 100) text = v.toFixed(0);
  else if (abs >= 1) text = v.toFixed(2);
  else if (abs === 0) text = "0";
  else text = v.toPrecision(2);
  return unit ? `${text}${unit}` : text;
}

