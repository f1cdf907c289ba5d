/** Alerts over the typed client: list (filtered, paged), one alert, timeline and actions. */
import { infiniteQueryOptions, keepPreviousData, queryOptions } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type AlertPublic = Schemas["AlertPublic"];
export type AlertEventPublic = Schemas["AlertEventPublic"];
export type AlertStatus = Schemas["AlertStatus"];
export type Severity = Schemas["Severity"];
export type BulkAction = Schemas["BulkAction"];

export const ALERT_STATUSES: AlertStatus[] = ["active", "acknowledged", "resolved"];
export const SEVERITIES: Severity[] = ["critical", "error", "warning", "info"];
export const PAGE_SIZE = 50;

export interface AlertFilters {
  /** "open" = active or acknowledged; "" = all. */
  status: AlertStatus | "open" | "";
  severity: Severity | "";
  rule: string;
  agent: string;
  matcher: string;
}

export const DEFAULT_ALERT_FILTERS: AlertFilters = {
  status: "open",
  severity: "",
  rule: "",
  agent: "",
  matcher: "",
};

export function alertsQuery(filters: AlertFilters) {
  return infiniteQueryOptions({
    queryKey: ["alerts", "list", filters],
    initialPageParam: null as string | null,
    placeholderData: keepPreviousData,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/alerts", {
          params: {
            query: {
              status:
                filters.status === "open"
                  ? ["active", "acknowledged"]
                  : filters.status
                    ? [filters.status]
                    : undefined,
              severity: filters.severity ? [filters.severity] : undefined,
              rule: filters.rule.trim() || undefined,
              agent: filters.agent.trim() || undefined,
              matcher: filters.matcher.trim() ? [filters.matcher.trim()] : undefined,
              limit: PAGE_SIZE,
              cursor: pageParam ?? undefined,
            },
          },
          signal,
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
}

export function alertQuery(id: string) {
  return queryOptions({
    queryKey: ["alerts", "one", id],
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/alerts/{alert_id}", { params: { path: { alert_id: id } }, signal })),
  });
}

export function timelineQuery(id: string) {
  return queryOptions({
    queryKey: ["alerts", "timeline", id],
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/alerts/{alert_id}/timeline", {
          params: { path: { alert_id: id }, query: { limit: 500 } },
          signal,
        }),
      ),
  });
}

export function acknowledge(id: string, note: string): Promise<AlertPublic> {
  return unwrap(
    api.POST("/api/v1/alerts/{alert_id}/acknowledge", {
      params: { path: { alert_id: id } },
      body: { note: note.trim() || null },
    }),
  );
}

export function unacknowledge(id: string): Promise<AlertPublic> {
  return unwrap(api.POST("/api/v1/alerts/{alert_id}/unacknowledge", { params: { path: { alert_id: id } } }));
}

export function resolve(id: string, note: string): Promise<AlertPublic> {
  return unwrap(
    api.POST("/api/v1/alerts/{alert_id}/resolve", {
      params: { path: { alert_id: id }, query: { resolution_note: note.trim() || undefined } },
    }),
  );
}

export function addNote(id: string, note: string): Promise<AlertEventPublic> {
  return unwrap(
    api.POST("/api/v1/alerts/{alert_id}/notes", { params: { path: { alert_id: id } }, body: { note } }),
  );
}

export function bulk(action: BulkAction, ids: string[], note: string) {
  return unwrap(api.POST("/api/v1/alerts/bulk", { body: { action, ids, note: note.trim() || null } }));
}

/** The expression behind an alert: its rule's, or the one in a Prometheus generator URL. */
export function alertExpression(alert: AlertPublic): string | null {
  if (alert.expr) return alert.expr;
  if (!alert.generator_url) return null;
  try {
    return new URL(alert.generator_url).searchParams.get("g0.expr");
  } catch {
    return null;
  }
}

/** `lhs > 100` → the left-hand side and the threshold, so the chart shows the value itself
 * (a comparison only has points while it holds); null when the expression is not of that form. */
export function splitComparison(expr: string): { lhs: string; threshold: number } | null {
  const match = /^(.*?)\s*(?:>=|<=|==|!=|>|<)(?:\s*bool)?\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/is.exec(expr);
  if (!match?.[1] || match[2] === undefined) return null;
  return { lhs: match[1], threshold: Number(match[2]) };
}

/** One click: silence this alert by all of its labels for `seconds`. */
export function silenceAlert(id: string, seconds: number) {
  return unwrap(
    api.POST("/api/v1/silences/from-alert/{alert_id}", {
      params: { path: { alert_id: id } },
      body: { duration_seconds: seconds, comment: "silenced from the alert page" },
    }),
  );
}
