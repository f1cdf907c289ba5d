/**
 * A time-series line chart on uPlot (canvas): legend with the values under the cursor,
 * resizes with its container, redraws when the colour theme changes.
 */
import { useEffect, useMemo, useRef, type ReactNode } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { alignSeries, formatValue, seriesColor, type ChartSeries } from "../lib/chartData";
import { useThemeVersion } from "../lib/useThemeVersion";

export function TimeSeriesChart({
  series,
  height = 260,
  unit = "",
  label,
  xRange,
}: {
  series: ChartSeries[];
  height?: number;
  unit?: string;
  label?: string;
  /** The queried time range (seconds): the x axis spans it even where data is missing. */
  xRange?: [number, number];
}): ReactNode {
  const holder = useRef<HTMLDivElement>(null);
  const span = useRef(xRange);
  useEffect(() => {
    span.current = xRange;
  });
  const plot = useRef<uPlot | null>(null);
  const theme = useThemeVersion();
  const data = useMemo(() => alignSeries(series), [series]);
  const labels = useMemo(() => series.map((s) => s.label).join("\n"), [series]);

  useEffect(() => {
    const el = holder.current;
    if (!el || typeof window.ResizeObserver === "undefined" || series.length === 0) return;
    const style = getComputedStyle(el);
    const axisColor = style.color;
    const gridColor = style.borderTopColor;
    const axis = (): uPlot.Axis => ({
      stroke: axisColor,
      grid: { stroke: gridColor, width: 1 },
      ticks: { stroke: gridColor, width: 1 },
    });
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height,
      cursor: { drag: { x: true, y: false } },
      legend: { show: true, live: true },
      scales: {
        x: {
          time: true,
          range: (_u, min, max): uPlot.Range.MinMax => span.current ?? [min, max],
        },
      },
      axes: [
        axis(),
        { ...axis(), size: 60, values: (_u, splits) => splits.map((v) => formatValue(v, unit)) },
      ],
      series: [
        { label: "Time", value: "{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}" },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: seriesColor(i),
          width: 1.5,
          spanGaps: s.spanGaps ?? false,
          ...(s.dashed ? { dash: [6, 4] } : {}),
          points: { show: false },
          value: (_u: uPlot, v: number | null) => formatValue(v, unit),
        })),
      ],
    };
    const chart = new uPlot(opts, data, el);
    plot.current = chart;
    const resize = new ResizeObserver(() => {
      chart.setSize({ width: Math.max(el.clientWidth, 200), height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // labels stands for the series list: a new set of series rebuilds the chart.
  }, [labels, height, unit, theme]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  if (series.length === 0) {
    return (
      <div className="chart-empty" style={{ height }}>
        No data in this range
      </div>
    );
  }
  return <div className="chart" ref={holder} role="img" aria-label={label ?? "Chart"} />;
}
