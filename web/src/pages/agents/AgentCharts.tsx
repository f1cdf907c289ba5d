/**
 * Telemetry of one agent over time: CPU, memory, request and error rates, latency
 * percentiles, tokens and cost, each a PromQL range query on the agent's `agent` label.
 */
import { useQueries } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { Link } from "react-router";
import { queryRange, quoteLabel, toChartSeries } from "../../api/prom";
import { telemetryKeys } from "../../api/telemetry";
import { RangePicker } from "../../components/RangePicker";
import { TimeSeriesChart } from "../../components/TimeSeriesChart";
import type { ChartSeries } from "../../lib/chartData";
import { AGENT_PANELS, rateWindow, type Panel } from "./agentPanels";
import { Spinner } from "../../components/ui";
import { TelemetryEmpty } from "./TelemetryEmpty";
import { autoStep, formatDuration, paramsFromState, resolveRange, type TimeRange } from "../../lib/timeRange";

function ChartPanel({
  panel,
  selector,
  window,
  range,
  span,
  results,
}: {
  span: [number, number];
  panel: Panel;
  selector: string;
  window: string;
  range: TimeRange;
  results: { data?: ChartSeries[]; isPending: boolean; error: Error | null }[];
}): ReactNode {
  const series = results.flatMap((r) => r.data ?? []);
  const pending = results.some((r) => r.isPending);
  const error = results.find((r) => r.error)?.error;
  const first = panel.queries[0]?.expr(selector, window) ?? "";
  const explore = `/explore?${paramsFromState({ query: first, range, step: null, view: "chart" }).toString()}`;
  return (
    <section className="card chart-card" aria-label={`${panel.title} chart`}>
      <div className="card-head">
        <h2>{panel.title}</h2>
        {pending ? <Spinner /> : null}
        <Link className="small" to={explore}>
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
          />
        )}
      </div>
    </section>
  );
}

export function AgentCharts({ agent }: { agent: string }): ReactNode {
  const [range, setRange] = useState<TimeRange>({ kind: "relative", range: "1h" });
  const selector = `{agent=${quoteLabel(agent)}}`;
  const [start, end] = resolveRange(range);
  const step = autoStep(start, end, 120);
  const window = rateWindow(step);
  const flat = AGENT_PANELS.flatMap((panel, p) => panel.queries.map((q, i) => ({ panel: p, i, q })));
  const results = useQueries({
    queries: flat.map(({ q }) => ({
      queryKey: telemetryKeys.agentPanel(agent, range, q.expr(selector, window)),
      refetchInterval: range.kind === "relative" ? 30_000 : false,
      retry: false,
      queryFn: async ({ signal }: { signal: AbortSignal }): Promise<ChartSeries[]> => {
        const [s, e] = resolveRange(range);
        const data = await queryRange({ query: q.expr(selector, window), start: s, end: e, step }, signal);
        return toChartSeries(data).map((c) => ({ label: q.label(c.metric), points: c.points }));
      },
    })),
  });

  return (
    <section className="stack" aria-label="Telemetry">
      <div className="row">
        <h2 style={{ flex: 1 }}>Telemetry</h2>
        <span className="faint small">step {formatDuration(step)}</span>
        <RangePicker value={range} onChange={setRange} allowAbsolute={false} />
      </div>
      {results.every((r) => r.isSuccess && r.data.length === 0) ? <TelemetryEmpty agent={agent} /> : null}
      <div className="chart-grid">
        {AGENT_PANELS.map((panel, p) => (
          <ChartPanel
            key={panel.title}
            panel={panel}
            selector={selector}
            window={window}
            range={range}
            span={[start, end]}
            results={results
              .filter((_, k) => flat[k]?.panel === p)
              .map((r) => ({ data: r.data, isPending: r.isPending, error: r.error }))}
          />
        ))}
      </div>
    </section>
  );
}
