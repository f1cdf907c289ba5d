/** Alert rule types and queries over the generated client. */
import { infiniteQueryOptions, keepPreviousData, queryOptions } from "@tanstack/react-query";
import { api, unwrap, unwrapWithEtag } from "../../../api/client";
import type { components } from "../../../api/schema";

type Schemas = components["schemas"];
export type AlertRule = Schemas["AlertRulePublic"];
export type AlertRuleCreate = Schemas["AlertRuleCreate"];
export type ThresholdForm = Schemas["ThresholdForm"];
export type BacktestResult = Schemas["BacktestResult"];
export type Severity = Schemas["Severity"];

export const SEVERITIES: readonly Severity[] = ["info", "warning", "error", "critical"];
export const AGGREGATIONS = [
  "avg", "min", "max", "sum", "count", "last", "p50", "p90", "p95", "p99", "rate", "increase",
] as const;
export const OPERATORS = [">=", ">", "<=", "<", "==", "!="] as const;

export interface RuleFilters {
  q: string;
  severity: Severity | "";
  enabled: "" | "true" | "false";
}

export function rulesQuery(filters: RuleFilters) {
  return infiniteQueryOptions({
    queryKey: ["alert-rules", "list", filters],
    initialPageParam: null as string | null,
    placeholderData: keepPreviousData,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/alert-rules", {
          params: {
            query: {
              q: filters.q.trim() || undefined,
              severity: filters.severity ? [filters.severity] : undefined,
              enabled: filters.enabled === "" ? undefined : filters.enabled === "true",
              limit: 100,
              cursor: pageParam ?? undefined,
            },
          },
          signal,
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
}

export function ruleQuery(ruleId: string) {
  return queryOptions({
    queryKey: ["alert-rules", "one", ruleId],
    queryFn: ({ signal }) =>
      unwrapWithEtag(
        api.GET("/api/v1/alert-rules/{rule_id}", { params: { path: { rule_id: ruleId } }, signal }),
      ),
  });
}

export function formatSeconds(seconds: number): string {
  if (seconds === 0) return "0s";
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
