/**
 * A time-series line chart on uPlot (canvas) with a table legend (last/min/avg/max, search,
 * click to hide a series); drag across it to zoom into that span, "Reset zoom" to go back.
 * Pages that own a time range pass `onZoom` and turn the dragged span into their range (the
 * query then runs at the finer step); otherwise the chart zooms in place. It resizes with its
 * container and redraws when the colour theme changes.
 */
import { useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { alignSeries, seriesColor, type ChartSeries } from "../lib/chartData";
import { formatUnit, type Unit } from "../lib/format";
import { formatClock } from "../lib/timeZone";
import { useThemeVersion } from "../lib/useThemeVersion";
import { ChartLegend } from "./ChartLegend";

export function TimeSeriesChart({
  series,
  height = 260,
  unit = "",
  label,
  xRange,
  onZoom,
  utc = false,
}: {
  series: ChartSeries[];
  height?: number;
  unit?: Unit;
  label?: string;
  /** The queried time range (seconds): the x axis spans it even where data is missing. */
  xRange?: [number, number];
  /** Called with the span dragged across (seconds); without it the chart zooms in place. */
  onZoom?: (range: [number, number]) => void;
  /** Times on the axis and in the legend in UTC rather than the browser's zone. */
  utc?: boolean;
}): ReactNode {
  const holder = useRef<HTMLDivElement>(null);
  const span = useRef(xRange);
  const zoomHandler = useRef(onZoom);
  useEffect(() => {
    span.current = xRange;
    zoomHandler.current = onZoom;
  });
  const zoom = useRef<[number, number] | null>(null);
  const [zoomed, setZoomed] = useState(false);
  const [hidden, setHidden] = useState<ReadonlySet<number>>(new Set());
  const [cursorIdx, setCursorIdx] = useState<number | null>(null);
  const plot = useRef<uPlot | null>(null);
  const theme = useThemeVersion();
  const data = useMemo(() => alignSeries(series), [series]);
  const labels = useMemo(() => series.map((s) => s.label).join("\n"), [series]);
  const name = label ?? "Chart";

  // A new range from outside (the page's picker, a zoom the page applied) ends an in-place zoom.
  const rangeKey = xRange ? `${xRange[0]}-${xRange[1]}` : "";
  const [seenRange, setSeenRange] = useState(rangeKey);
  if (seenRange !== rangeKey) {
    setSeenRange(rangeKey);
    setZoomed(false);
  }
  useEffect(() => {
    zoom.current = null;
  }, [rangeKey]);
  const [seenLabels, setSeenLabels] = useState(labels);
  if (seenLabels !== labels) {
    setSeenLabels(labels);
    setHidden(new Set());
  }

  useEffect(() => {
    const el = holder.current?.querySelector<HTMLDivElement>(".chart-canvas");
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
      ...(utc ? { tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC") } : {}),
      cursor: { drag: { x: true, y: false, setScale: false } },
      legend: { show: false },
      scales: {
        x: {
          time: true,
          range: (_u, min, max): uPlot.Range.MinMax => zoom.current ?? span.current ?? [min, max],
        },
      },
      axes: [
        axis(),
        { ...axis(), size: 72, values: (_u, splits) => splits.map((v) => formatUnit(v, unit)) },
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: seriesColor(i),
          width: 1.5,
          spanGaps: s.spanGaps ?? false,
          ...(s.dashed ? { dash: [6, 4] } : {}),
          points: { show: false },
        })),
      ],
      hooks: {
        setCursor: [(u) => setCursorIdx(u.cursor.idx ?? null)],
        setScale: [
          (u, key) => {
            if (key !== "x" || !holder.current) return;
            holder.current.dataset.xMin = String(Math.round(u.scales.x?.min ?? 0));
            holder.current.dataset.xMax = String(Math.round(u.scales.x?.max ?? 0));
          },
        ],
        setSelect: [
          (u) => {
            const { left, width } = u.select;
            if (width < 3) return;
            const from = u.posToVal(left, "x");
            const to = u.posToVal(left + width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            if (!(to > from)) return;
            const handler = zoomHandler.current;
            if (handler) {
              handler([Math.floor(from), Math.ceil(to)]);
              return;
            }
            zoom.current = [from, to];
            setZoomed(true);
            u.setScale("x", { min: from, max: to });
          },
        ],
      },
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
  }, [labels, height, unit, theme, utc]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  // The x range given from outside applies at once (setData keeps the old scale otherwise).
  useEffect(() => {
    const u = plot.current;
    if (u && xRange && !zoom.current) u.setScale("x", { min: xRange[0], max: xRange[1] });
  }, [rangeKey]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    series.forEach((_, i) => u.setSeries(i + 1, { show: !hidden.has(i) }));
  }, [hidden, series]);

  const resetZoom = (): void => {
    zoom.current = null;
    setZoomed(false);
    const u = plot.current;
    const xs = data[0];
    const [min, max] = span.current ?? [xs[0] ?? 0, xs[xs.length - 1] ?? 1];
    u?.setScale("x", { min, max });
  };

  const toggle = (i: number): void => {
    setHidden((prev) => {
      const next = new Set(prev);
      if (next.has(i)) next.delete(i);
      else next.add(i);
      return next;
    });
  };

  if (series.length === 0) {
    return (
      <div className="chart-empty" style={{ height }}>
        No data in this range
      </div>
    );
  }
  const cursorTime = cursorIdx === null ? null : data[0][cursorIdx];
  const cursor =
    cursorIdx === null || cursorTime === undefined || cursorTime === null
      ? null
      : {
          time: formatClock(cursorTime, utc),
          values: series.map((_, i) => data[i + 1]?.[cursorIdx] ?? null),
        };
  return (
    <div className="chart" ref={holder} data-zoomed={zoomed || undefined}>
      {zoomed ? (
        <button type="button" className="btn btn-sm chart-reset" onClick={resetZoom}>
          Reset zoom
        </button>
      ) : null}
      <div className="chart-canvas" role="img" aria-label={name} title="Drag across the chart to zoom in" />
      <ChartLegend series={series} unit={unit} label={name} hidden={hidden} onToggle={toggle} cursor={cursor} />
    </div>
  );
}
