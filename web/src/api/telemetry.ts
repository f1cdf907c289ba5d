/** Telemetry queries over the Prometheus-compatible API (prom.ts): metric and label names,
 * series of a metric, and range queries for the explorer and an agent's charts. */
import { keepPreviousData, queryOptions } from "@tanstack/react-query";
import { autoStep, resolveRange, type TimeRange } from "../lib/timeRange";
import { labelNames, labelValues, queryRange, series, type QueryData } from "./prom";

const all = ["prom"] as const;

/** Query keys: `all` covers every query of the Prometheus API. */
export const telemetryKeys = {
  all,
  metricNames: [...all, "names"] as const,
  labelNames: [...all, "labels"] as const,
  series: (metric: string) => [...all, "series", metric] as const,
  range: (query: string, range: TimeRange, step: number | null) => [...all, "range", query, range, step] as const,
  /** One panel query of an agent's charts. */
  agentPanel: (agent: string, range: TimeRange, expr: string) => [...all, "agent", agent, range, expr] as const,
};

export function metricNamesQuery() {
  return queryOptions({
    queryKey: telemetryKeys.metricNames,
    queryFn: ({ signal }) => labelValues("__name__", {}, signal),
    staleTime: 60_000,
  });
}

export function labelNamesQuery() {
  return queryOptions({
    queryKey: telemetryKeys.labelNames,
    queryFn: ({ signal }) => labelNames({}, signal),
    staleTime: 60_000,
  });
}

/** The series (label sets) of `metric`; idle without one. */
export function metricSeriesQuery(metric: string) {
  return queryOptions({
    queryKey: telemetryKeys.series(metric),
    queryFn: ({ signal }) => series([metric], {}, signal),
    enabled: metric !== "",
    staleTime: 30_000,
  });
}

export interface RangeResult {
  data: QueryData;
  start: number;
  end: number;
  step: number;
}

/** `query` over `range` (resolved when it runs) at `step`, or an automatic step. */
export function rangeQuery(query: string, range: TimeRange, step: number | null) {
  return queryOptions({
    queryKey: telemetryKeys.range(query, range, step),
    enabled: query.trim() !== "",
    placeholderData: keepPreviousData,
    staleTime: 0,
    retry: false,
    queryFn: async ({ signal }): Promise<RangeResult> => {
      const [start, end] = resolveRange(range);
      const chosen = step ?? autoStep(start, end);
      const data = await queryRange({ query, start, end, step: chosen }, signal);
      return { data, start, end, step: chosen };
    },
  });
}
