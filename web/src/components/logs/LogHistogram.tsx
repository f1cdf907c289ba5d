/**
 * Lines per severity over the searched range as stacked bars (uPlot). Dragging across the chart
 * zooms the range to the selection; the legend gives each severity's count (under the cursor, or
 * over the range) and filters the query by it when clicked.
 */
import { useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { SEVERITIES, type LogHistogram as Histogram, type LogSeverity } from "../../api/logs";
import { histogramColumns } from "../../lib/logHistogram";
import { useThemeVersion } from "../../lib/useThemeVersion";

const TIME = new Intl.DateTimeFormat("en", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function LogHistogram({
  histogram,
  range,
  height = 140,
  onZoom,
  onSeverity,
}: {
  histogram: Histogram;
  /** The searched range in seconds: the x axis spans it. */
  range: [number, number];
  height?: number;
  onZoom: (from: number, to: number) => void;
  onSeverity?: (severity: LogSeverity) => void;
}): ReactNode {
  const holder = useRef<HTMLDivElement>(null);
  const swatches = useRef<Partial<Record<LogSeverity, HTMLSpanElement | null>>>({});
  const theme = useThemeVersion();
  const [hover, setHover] = useState<number | null>(null);
  const columns = useMemo(() => histogramColumns(histogram, range), [histogram, range]);
  const zoom = useRef(onZoom);
  const span = useRef(range);
  useEffect(() => {
    zoom.current = onZoom;
    span.current = range;
  });

  useEffect(() => {
    const el = holder.current;
    if (!el || typeof window.ResizeObserver === "undefined") return;
    const style = getComputedStyle(el);
    const color = (s: LogSeverity): string => {
      const swatch = swatches.current[s];
      return swatch ? getComputedStyle(swatch).color : "#888";
    };
    const axis = (): uPlot.Axis => ({
      stroke: style.color,
      grid: { stroke: style.borderTopColor, width: 1 },
      ticks: { stroke: style.borderTopColor, width: 1 },
    });
    const bars = uPlot.paths.bars?.({ size: [0.86, 80], align: 1 });
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height,
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      scales: {
        x: { time: true, range: (): uPlot.Range.MinMax => span.current },
        y: { range: (_u, _min, max): uPlot.Range.MinMax => [0, Math.max(1, max)] },
      },
      axes: [axis(), { ...axis(), size: 48, values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : "")) }],
      series: [
        {},
        ...columns.order.map((s) => ({
          label: s,
          fill: color(s),
          stroke: color(s),
          width: 0,
          paths: bars,
          points: { show: false },
        })),
      ],
      hooks: {
        setSelect: [
          (u: uPlot) => {
            const { left, width } = u.select;
            if (width > 3) zoom.current(u.posToVal(left, "x"), u.posToVal(left + width, "x"));
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          },
        ],
        setCursor: [
          (u: uPlot) => {
            setHover(u.cursor.idx ?? null);
          },
        ],
      },
    };
    const chart = new uPlot(opts, columns.data, el);
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(el.clientWidth, 200), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [columns, height, theme]);

  const at = hover !== null && hover < columns.xs.length ? hover : null;
  const shown = (s: LogSeverity): number => (at === null ? columns.totals[s] : (columns.counts[s][at] ?? 0));
  const bucket = at === null ? null : columns.xs[at];
  return (
    <div className="log-histogram">
      <div className="log-histogram-legend" aria-label="Lines by severity">
        <span className="faint small when">
          {bucket === undefined || bucket === null
            ? "In range"
            : `${TIME.format(bucket * 1000)} +${columns.step >= 60 ? `${columns.step / 60}m` : `${columns.step}s`}`}
        </span>
        {SEVERITIES.map((s) => (
          <button
            type="button"
            key={s}
            className="sev-legend"
            data-severity={s}
            title={onSeverity ? `Show only ${s} lines` : undefined}
            disabled={!onSeverity}
            onClick={() => onSeverity?.(s)}
          >
            <span
              className={`sev-swatch sev-${s.toLowerCase()}`}
              ref={(node) => {
                swatches.current[s] = node;
              }}
            />
            {s}
            <strong>{shown(s).toLocaleString("en")}</strong>
          </button>
        ))}
      </div>
      <div className="chart log-histogram-chart" ref={holder} role="img" aria-label="Lines per severity over time; drag to zoom" />
    </div>
  );
}
