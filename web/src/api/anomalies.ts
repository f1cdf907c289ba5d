/** Log intelligence: anomalies (list, one with its lines), log streams (create, list with
 * statistics, stop) and their batches. */
import { infiniteQueryOptions, keepPreviousData, queryOptions } from "@tanstack/react-query";
import { api, unwrap } from "./client";
import { cursorPaging, PAGE_SIZE } from "./paging";
import type { components } from "./schema";

type Schemas = components["schemas"];
export type AnomalyPublic = Schemas["AnomalyPublic"];
export type AnomalyDetail = Schemas["AnomalyDetail"];
export type LogStreamPublic = Schemas["LogStreamPublic"];
export type LogStreamCreate = Schemas["LogStreamCreate"];
export type LogBatchPublic = Schemas["LogBatchPublic"];

export const ANOMALY_SEVERITIES = ["critical", "high", "medium", "low"] as const;
export const ANOMALY_TYPES = [
  "error_spike",
  "unusual_pattern",
  "resource_exhaustion",
  "security_incident",
  "performance_degradation",
  "latency_increase",
] as const;
export const LOG_SEVERITIES = ["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"] as const;

export interface AnomalyFilters {
  severity: string;
  type: string;
  service: string;
  /** "" (newest detected first) or "window" (newest lines first). */
  sort: string;
}

export const DEFAULT_ANOMALY_FILTERS: AnomalyFilters = { severity: "", type: "", service: "", sort: "" };

const all = ["logintel"] as const;

export const logintelKeys = {
  all,
  anomalies: (filters: AnomalyFilters) => [...all, "anomalies", filters] as const,
  anomaly: (id: string) => [...all, "anomaly", id] as const,
  streams: [...all, "streams"] as const,
  batches: (streamId: string) => [...all, "batches", streamId] as const,
};

export function anomaliesQuery(filters: AnomalyFilters) {
  return infiniteQueryOptions({
    ...cursorPaging,
    queryKey: logintelKeys.anomalies(filters),
    placeholderData: keepPreviousData,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/anomalies", {
          params: {
            query: {
              severity: filters.severity || undefined,
              type: filters.type || undefined,
              service: filters.service.trim() || undefined,
              sort: filters.sort === "window" ? "window" : undefined,
              limit: PAGE_SIZE,
              cursor: pageParam ?? undefined,
            },
          },
          signal,
        }),
      ),
  });
}

export function anomalyQuery(id: string) {
  return queryOptions({
    queryKey: logintelKeys.anomaly(id),
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/anomalies/{anomaly_id}", { params: { path: { anomaly_id: id } }, signal })),
  });
}

export function streamsQuery() {
  return infiniteQueryOptions({
    ...cursorPaging,
    queryKey: logintelKeys.streams,
    refetchInterval: 10_000,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/log-streams", {
          params: { query: { limit: PAGE_SIZE, cursor: pageParam ?? undefined } },
          signal,
        }),
      ),
  });
}

export function batchesQuery(streamId: string) {
  return queryOptions({
    queryKey: logintelKeys.batches(streamId),
    refetchInterval: 10_000,
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/log-batches", {
          params: { query: { stream_id: streamId, limit: 10 } },
          signal,
        }),
      ),
  });
}

export function createStream(body: LogStreamCreate) {
  return unwrap(api.POST("/api/v1/log-streams", { body }));
}

export function stopStream(id: string) {
  return unwrap(api.DELETE("/api/v1/log-streams/{stream_id}", { params: { path: { stream_id: id } } }));
}
