/** Pieces of the Templates pages: the template text with its variables marked, the hourly trend. */
import type { ReactNode } from "react";
import { formatTime } from "../../lib/format";

/** The template with each `<*>` shown as a variable. */
export function TemplateText({ text }: { text: string }): ReactNode {
  const parts = text.split("<*>");
  return (
    <span className="tpl-text mono">
      {parts.map((part, i) => (
        <span key={i}>
          {part}
          {i < parts.length - 1 ? <span className="tpl-var">&lt;*&gt;</span> : null}
        </span>
      ))}
    </span>
  );
}

/** Lines per hour as bars, oldest first (the last bar is this hour). */
export function TrendBars({
  trend,
  start,
  stepSeconds,
  width = 120,
  height = 28,
}: {
  trend: readonly number[];
  start: string;
  stepSeconds: number;
  width?: number;
  height?: number;
}): ReactNode {
  const max = Math.max(1, ...trend);
  const n = Math.max(1, trend.length);
  const bar = width / n;
  const startMs = Date.parse(start);
  const total = trend.reduce((a, b) => a + b, 0);
  return (
    <svg
      className="tpl-trend"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`${total} lines over the last ${trend.length} hours; ${trend[trend.length - 1] ?? 0} this hour`}
    >
      <rect className="base" x={0} y={height - 1} width={width} height={1} />
      {trend.map((v, i) => {
        const h = v === 0 ? 0 : Math.max(1.5, (v / max) * (height - 2));
        const from = Number.isNaN(startMs) ? "" : formatTime(new Date(startMs + i * stepSeconds * 1000).toISOString());
        return (
          <rect
            key={i}
            x={i * bar + 0.5}
            y={height - h}
            width={Math.max(1, bar - 1)}
            height={h}
            className={i === trend.length - 1 ? "now" : undefined}
          >
            <title>{`${from}: ${v} lines`}</title>
          </rect>
        );
      })}
    </svg>
  );
}
