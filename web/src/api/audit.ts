/** The audit log: filtered, paged, newest first. */
import { infiniteQueryOptions, keepPreviousData } from "@tanstack/react-query";
import { api, unwrap } from "./client";
import { cursorPaging, PAGE_SIZE } from "./paging";

export interface AuditFilters {
  actor: string;
  action: string;
  resource_type: string;
  resource_id: string;
  since: string;
  until: string;
}

export const DEFAULT_AUDIT_FILTERS: AuditFilters = {
  actor: "",
  action: "",
  resource_type: "",
  resource_id: "",
  since: "",
  until: "",
};

const all = ["audit"] as const;

/** Query keys: `all` covers every audit-log list. */
export const auditKeys = {
  all,
  list: (filters: AuditFilters) => [...all, filters] as const,
};

/** A datetime-local input value ("2025-01-02T03:04") as RFC 3339 in UTC, or undefined. */
export function localToRfc3339(value: string): string | undefined {
  if (!value) return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}

export function auditQuery(filters: AuditFilters) {
  return infiniteQueryOptions({
    ...cursorPaging,
    queryKey: auditKeys.list(filters),
    placeholderData: keepPreviousData,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/audit-log", {
          params: {
            query: {
              actor: filters.actor.trim() || undefined,
              action: filters.action.trim() || undefined,
              resource_type: filters.resource_type.trim() || undefined,
              resource_id: filters.resource_id.trim() || undefined,
              since: localToRfc3339(filters.since),
              until: localToRfc3339(filters.until),
              limit: PAGE_SIZE,
              cursor: pageParam ?? undefined,
            },
          },
          signal,
        }),
      ),
  });
}
