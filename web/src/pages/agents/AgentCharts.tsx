/**
 * Telemetry of one agent over time: CPU, memory, request and error rates, latency
 * percentiles, tokens and cost, each a PromQL range query on the agent's `agent` label.
 * The time range is the shared one (in the address); dragging across a chart zooms every
 * panel to that span, and "Reset zoom" goes back to the range before.
 */
import { useQueries } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { Link } from "react-router";
import { queryRange, quoteLabel, toChartSeries } from "../../api/prom";
import { telemetryKeys } from "../../api/telemetry";
import { TimePicker } from "../../components/TimePicker";
import { TimeSeriesChart } from "../../components/TimeSeriesChart";
import type { ChartSeries } from "../../lib/chartData";
import { AGENT_PANELS, exploreHref, rateWindow, type Panel } from "./agentPanels";
import { Spinner } from "../../components/ui";
import { autoStep, formatDuration, resolveRange, type TimeRange } from "../../lib/timeRange";
import { useTimeSettings } from "../../lib/useTimeSettings";
import { TelemetryEmpty } from "./TelemetryEmpty";

function ChartPanel({
  panel,
  selector,
  window,
  range,
  span,
  results,
  utc,
  onZoom,
}: {
  span: [number, number];
  panel: Panel;
  selector: string;
  window: string;
  range: TimeRange;
  results: { data?: ChartSeries[]; isPending: boolean; error: Error | null }[];
  utc: boolean;
  onZoom: (range: [number, number]) => void;
}): ReactNode {
  const series = results.flatMap((r) => r.data ?? []);
  const pending = results.some((r) => r.isPending);
  const error = results.find((r) => r.error)?.error;
  return (
    <section className="card chart-card" aria-label={`${panel.title} chart`}>
      <div className="card-head">
        <h2>{panel.title}</h2>
        {pending ? <Spinner /> : null}
        <Link className="small" to={exploreHref(panel, selector, window, range)}>
          Explore
        </Link>
      </div>
      <div className="card-body">
        {error ? (
          <div className="chart-empty error small" style={{ height: 180 }}>
            {error.message}
          </div>
        ) : pending && series.length === 0 ? (
          <div className="chart-empty" style={{ height: 180 }} />
        ) : (
          <TimeSeriesChart
            series={series}
            height={180}
            unit={panel.unit}
            label={`${panel.title} over time`}
            xRange={span}
            utc={utc}
            onZoom={onZoom}
          />
        )}
      </div>
    </section>
  );
}

export function AgentCharts({ agent }: { agent: string }): ReactNode {
  const time = useTimeSettings();
  const range = time.range;
  const [beforeZoom, setBeforeZoom] = useState<TimeRange | null>(null);
  const selector = `{agent=${quoteLabel(agent)}}`;
  const [start, end] = resolveRange(range);
  const step = autoStep(start, end, 120);
  const window = rateWindow(step);
  const flat = AGENT_PANELS.flatMap((panel, p) => panel.queries.map((q, i) => ({ panel: p, i, q })));
  const results = useQueries({
    queries: flat.map(({ q }) => ({
      queryKey: telemetryKeys.agentPanel(agent, range, q.expr(selector, window)),
      refetchInterval: range.kind === "relative" ? (time.refresh ?? 30) * 1000 : false,
      retry: false,
      queryFn: async ({ signal }: { signal: AbortSignal }): Promise<ChartSeries[]> => {
        const [s, e] = resolveRange(range);
        const data = await queryRange({ query: q.expr(selector, window), start: s, end: e, step }, signal);
        return toChartSeries(data).map((c) => ({ label: q.label(c.metric), points: c.points }));
      },
    })),
  });
  const settled = results.every((r) => !r.isPending);
  const empty = settled && results.every((r) => !r.error && r.data.length === 0);
  const updatedAt = Math.max(0, ...results.map((r) => r.dataUpdatedAt));

  const zoomTo = ([from, to]: [number, number]): void => {
    setBeforeZoom((prev) => prev ?? range);
    time.set({ range: { kind: "absolute", from, to } });
  };
  const changeTime = (patch: Parameters<typeof time.set>[0]): void => {
    if (patch.range) setBeforeZoom(null);
    time.set(patch);
  };

  return (
    <section className="stack" aria-label="Telemetry">
      <div className="row telemetry-head">
        <h2 style={{ flex: 1 }}>Telemetry</h2>
        <span className="faint small">step {formatDuration(step)}</span>
        {beforeZoom ? (
          <button
            type="button"
            className="btn btn-sm"
            onClick={() => {
              time.set({ range: beforeZoom });
              setBeforeZoom(null);
            }}
          >
            Reset zoom
          </button>
        ) : null}
        <TimePicker
          settings={time}
          onChange={changeTime}
          updatedAt={updatedAt || undefined}
          onRefreshNow={() => results.forEach((r) => void r.refetch())}
        />
      </div>
      {empty && range.kind === "relative" ? <TelemetryEmpty agent={agent} /> : null}
      <div className="chart-grid">
        {AGENT_PANELS.map((panel, p) => (
          <ChartPanel
            key={panel.title}
            panel={panel}
            selector={selector}
            window={window}
            range={range}
            span={[start, end]}
            utc={time.utc}
            onZoom={zoomTo}
            results={results
              .filter((_, k) => flat[k]?.panel === p)
              .map((r) => ({ data: r.data, isPending: r.isPending, error: r.error }))}
          />
        ))}
      </div>
    </section>
  );
}
