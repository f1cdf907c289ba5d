/** Monitoring queries of the overview page (REST: the initial load; events keep it live). */
import { infiniteQueryOptions, keepPreviousData, queryOptions } from "@tanstack/react-query";
import { api, unwrap } from "./client";
import { cursorPaging, PAGE_SIZE } from "./paging";
import type { components } from "./schema";

type Schemas = components["schemas"];
export type MonitoringOverview = Schemas["MonitoringOverview"];
export type Headline = Schemas["Headline"];
export type AgentMetrics = Schemas["AgentMetrics"];
export type Topology = Schemas["Topology"];
export type PerformanceTrend = Schemas["PerformanceTrend"];
export type AlertItem = Schemas["AlertItem"];
export type HealthValue = AgentMetrics["health"];

export const WINDOWS = ["15m", "1h", "6h", "24h"] as const;
export type WindowChoice = (typeof WINDOWS)[number];

const all = ["monitoring"] as const;
const summaries = [...all, "overview"] as const;
const agentLists = [...all, "agents"] as const;
const topologies = [...all, "topology"] as const;

/** Query keys: `all` covers every monitoring query; `summaries`, `agentLists` and
 * `topologies` each cover their query in every window (what a live event refreshes). */
export const overviewKeys = {
  all,
  summaries,
  summary: (window: string) => [...summaries, window] as const,
  agentLists,
  agents: (window: string, sort: string) => [...agentLists, window, sort] as const,
  topologies,
  topology: (window: string) => [...topologies, window] as const,
  trend: (metric: string, window: string) => [...all, "trend", metric, window] as const,
};

export function overviewQuery(window: string) {
  return queryOptions({
    queryKey: overviewKeys.summary(window),
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/monitoring/overview", { params: { query: { window } }, signal })),
    placeholderData: keepPreviousData,
    staleTime: Infinity, // refreshed by events, never by a timer
  });
}

export function monitoringAgentsQuery(window: string, sort: string) {
  return infiniteQueryOptions({
    ...cursorPaging,
    queryKey: overviewKeys.agents(window, sort),
    placeholderData: keepPreviousData,
    staleTime: Infinity,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/monitoring/agents", {
          params: { query: { window, sort, limit: PAGE_SIZE, cursor: pageParam ?? undefined } },
          signal,
        }),
      ),
  });
}

export function topologyQuery(window: string) {
  return queryOptions({
    queryKey: overviewKeys.topology(window),
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/monitoring/topology", { params: { query: { window } }, signal })),
    placeholderData: keepPreviousData,
    staleTime: Infinity,
  });
}

export function trendQuery(metric: string, window: string) {
  return queryOptions({
    queryKey: overviewKeys.trend(metric, window),
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/monitoring/performance/trends", { params: { query: { metric, window } }, signal })),
    placeholderData: keepPreviousData,
    staleTime: Infinity,
  });
}
