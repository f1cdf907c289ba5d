/** Alert rules: the list (filtered, paged), one rule with its ETag, the backtest and writes. */
import { infiniteQueryOptions, keepPreviousData, queryOptions } from "@tanstack/react-query";
import type { Severity } from "./alerts";
import { api, unwrap, unwrapWithEtag } from "./client";
import { cursorPaging } from "./paging";
import type { components } from "./schema";

type Schemas = components["schemas"];
export type AlertRule = Schemas["AlertRulePublic"];
export type AlertRuleCreate = Schemas["AlertRuleCreate"];
export type AlertRuleUpdate = Schemas["AlertRuleUpdate"];
export type ThresholdForm = Schemas["ThresholdForm"];
export type BacktestResult = Schemas["BacktestResult"];
export type { Severity };

export const RULE_SEVERITIES: readonly Severity[] = ["info", "warning", "error", "critical"];
export const AGGREGATIONS = [
  "avg", "min", "max", "sum", "count", "last", "p50", "p90", "p95", "p99", "rate", "increase",
] as const;
export const OPERATORS = [">=", ">", "<=", "<", "==", "!="] as const;

export interface RuleFilters {
  q: string;
  severity: Severity | "";
  enabled: "" | "true" | "false";
}

const all = ["alert-rules"] as const;

/** Query keys: `all` covers every rule query (lists, details and backtests). */
export const ruleKeys = {
  all,
  list: (filters: RuleFilters) => [...all, "list", filters] as const,
  detail: (id: string) => [...all, "one", id] as const,
  backtest: (rule: AlertRuleCreate, hours: number) => [...all, "test", rule, hours] as const,
};

export function rulesQuery(filters: RuleFilters) {
  return infiniteQueryOptions({
    ...cursorPaging,
    queryKey: ruleKeys.list(filters),
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
  });
}

export function ruleQuery(ruleId: string) {
  return queryOptions({
    queryKey: ruleKeys.detail(ruleId),
    queryFn: ({ signal }) =>
      unwrapWithEtag(
        api.GET("/api/v1/alert-rules/{rule_id}", { params: { path: { rule_id: ruleId } }, signal }),
      ),
  });
}

/** When `rule` would have fired over the last `hours` (and its expression's series). */
export function backtestQuery(rule: AlertRuleCreate, hours: number) {
  return queryOptions({
    queryKey: ruleKeys.backtest(rule, hours),
    queryFn: ({ signal }) => {
      const end = Date.now();
      return unwrap(
        api.POST("/api/v1/alert-rules/test", {
          body: {
            rule: { ...rule, name: rule.name || "preview" },
            start: new Date(end - hours * 3_600_000).toISOString(),
            end: new Date(end).toISOString(),
            max_steps: 720,
          },
          signal,
        }),
      );
    },
    retry: false,
  });
}

// ---- writes ---------------------------------------------------------------------------------

export function createRule(body: AlertRuleCreate) {
  return unwrapWithEtag(api.POST("/api/v1/alert-rules", { body }));
}

export function updateRule(id: string, etag: string | null, body: AlertRuleUpdate) {
  return unwrapWithEtag(
    api.PATCH("/api/v1/alert-rules/{rule_id}", {
      params: { path: { rule_id: id }, header: etag ? { "if-match": etag } : {} },
      body,
    }),
  );
}

/** Switch a rule on or off at the revision the list shows. */
export function toggleRule(rule: AlertRule) {
  return unwrap(
    api.PATCH("/api/v1/alert-rules/{rule_id}", {
      params: { path: { rule_id: rule.id }, header: { "if-match": `"${rule.revision}"` } },
      body: { enabled: !rule.enabled },
    }),
  );
}

export function deleteRule(id: string) {
  return unwrap(api.DELETE("/api/v1/alert-rules/{rule_id}", { params: { path: { rule_id: id } } }));
}

export function addDefaultRules() {
  return unwrap(api.POST("/api/v1/alert-rules/default-pack"));
}

/** The tenant's rules as a Prometheus rule file (YAML). */
export async function exportRules(): Promise<Blob> {
  // parseAs "blob": the body is read once, by openapi-fetch (a second read would throw).
  const text = await unwrap(api.GET("/api/v1/alert-rules/export", { parseAs: "text" }));
  return new Blob([text], { type: "application/yaml" });
}
