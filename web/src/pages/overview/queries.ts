/** Monitoring queries of the overview page (REST: the initial load; events keep it live). */
import { infiniteQueryOptions, keepPreviousData, queryOptions } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";

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

export function overviewQuery(window: string) {
  return queryOptions({
    queryKey: ["monitoring", "overview", window],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/monitoring/overview", { params: { query: { window } }, signal })),
    placeholderData: keepPreviousData,
    staleTime: Infinity, // refreshed by events, never by a timer
  });
}

export function monitoringAgentsQuery(window: string, sort: string) {
  return infiniteQueryOptions({
    queryKey: ["monitoring", "agents", window, sort],
    initialPageParam: null as string | null,
    placeholderData: keepPreviousData,
    staleTime: Infinity,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/monitoring/agents", {
          params: { query: { window, sort, limit: 50, cursor: pageParam ?? undefined } },
          signal,
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
}

export function topologyQuery(window: string) {
  return queryOptions({
    queryKey: ["monitoring", "topology", window],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/monitoring/topology", { params: { query: { window } }, signal })),
    placeholderData: keepPreviousData,
    staleTime: Infinity,
  });
}

export function trendQuery(metric: string, window: string) {
  return queryOptions({
    queryKey: ["monitoring", "trend", metric, window],
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/monitoring/performance/trends", { params: { query: { metric, window } }, signal })),
    placeholderData: keepPreviousData,
    staleTime: Infinity,
  });
}
