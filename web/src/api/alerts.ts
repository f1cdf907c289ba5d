/** Alerts: the list (filtered, paged), one alert, its timeline and chart, and the actions. */
import { infiniteQueryOptions, keepPreviousData, queryOptions } from "@tanstack/react-query";
import { api, unwrap } from "./client";
import { cursorPaging, PAGE_SIZE } from "./paging";
import type { components } from "./schema";

type Schemas = components["schemas"];
export type AlertPublic = Schemas["AlertPublic"];
export type AlertEventPublic = Schemas["AlertEventPublic"];
export type AlertStatus = Schemas["AlertStatus"];
// From the alert itself: the schema name of the enum changes when another domain has a Severity too.
export type Severity = AlertPublic["severity"];
export type BulkAction = Schemas["BulkAction"];

export const ALERT_STATUSES: AlertStatus[] = ["active", "acknowledged", "resolved"];
export const SEVERITIES: Severity[] = ["critical", "error", "warning", "info"];

/** Why an open alert's notifications are held (Alertmanager's `suppressed` state): a silence
 * matches it, or another firing alert inhibits it. A silence is named first. */
export type Suppression = "silenced" | "inhibited";
export const SUPPRESSIONS: Suppression[] = ["silenced", "inhibited"];

export function suppressionOf(alert: Pick<AlertPublic, "silenced_by" | "inhibited_by" | "is_active">): Suppression | null {
  if (!alert.is_active) return null;
  if (alert.silenced_by.length > 0) return "silenced";
  return alert.inhibited_by.length > 0 ? "inhibited" : null;
}

export interface AlertFilters {
  /** "open" = active or acknowledged; "" = all. */
  status: AlertStatus | "open" | "";
  /** "notifying": neither silenced nor inhibited; "suppressed": either; "" = both. */
  state: "notifying" | "suppressed" | "";
  severity: Severity | "";
  rule: string;
  agent: string;
  matcher: string;
}

export const DEFAULT_ALERT_FILTERS: AlertFilters = {
  status: "open",
  state: "",
  severity: "",
  rule: "",
  agent: "",
  matcher: "",
};

const all = ["alerts"] as const;

/** Query keys: `all` covers every alert query (lists, details, timelines, charts), so one
 * invalidation refreshes whatever alert view is open. */
export const alertKeys = {
  all,
  list: (filters: AlertFilters) => [...all, "list", filters] as const,
  detail: (id: string) => [...all, "one", id] as const,
  timeline: (id: string) => [...all, "timeline", id] as const,
  /** The chart of an alert's expression from `start`; `end` is "live" while it fires. */
  chart: (id: string, expr: string | null, start: number, end: number | "live") =>
    [...all, "chart", id, expr, start, end] as const,
};

export function alertsQuery(filters: AlertFilters) {
  return infiniteQueryOptions({
    ...cursorPaging,
    queryKey: alertKeys.list(filters),
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
              silenced: filters.state ? filters.state === "suppressed" : undefined,
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
  });
}

export function alertQuery(id: string) {
  return queryOptions({
    queryKey: alertKeys.detail(id),
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/alerts/{alert_id}", { params: { path: { alert_id: id } }, signal })),
  });
}

export function timelineQuery(id: string) {
  return queryOptions({
    queryKey: alertKeys.timeline(id),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/alerts/{alert_id}/timeline", {
          params: { path: { alert_id: id }, query: { limit: 500 } },
          signal,
        }),
      ),
  });
}

// ---- actions --------------------------------------------------------------------------------

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
