/** Query and mutation definitions over the typed client (TanStack Query). */
import { infiniteQueryOptions, keepPreviousData, queryOptions } from "@tanstack/react-query";
import { api, unwrap, unwrapWithEtag } from "./client";
import type { AgentSort, AgentStatus, AgentType } from "./types";

export const PAGE_SIZE = 50;

export function infoQuery() {
  return queryOptions({
    queryKey: ["info"],
    queryFn: () => unwrap(api.GET("/api/v1/info")),
    staleTime: 5 * 60_000,
  });
}

// ---- agents ---------------------------------------------------------------------------------

export interface AgentFilters {
  q: string;
  type: AgentType | "";
  status: AgentStatus | "";
  label: string;
  sort: AgentSort;
}

export const DEFAULT_AGENT_FILTERS: AgentFilters = {
  q: "",
  type: "",
  status: "",
  label: "",
  sort: "-created_at",
};

export function agentsQuery(filters: AgentFilters) {
  return infiniteQueryOptions({
    queryKey: ["agents", "list", filters],
    initialPageParam: null as string | null,
    // Keep showing the current rows while another filter or sort loads.
    placeholderData: keepPreviousData,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/agents", {
          params: {
            query: {
              q: filters.q.trim() || undefined,
              type: filters.type ? [filters.type] : undefined,
              status: filters.status ? [filters.status] : undefined,
              label: filters.label.trim() || undefined,
              sort: filters.sort,
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

export function agentQuery(id: string) {
  return queryOptions({
    queryKey: ["agents", "one", id],
    queryFn: ({ signal }) =>
      unwrapWithEtag(api.GET("/api/v1/agents/{agent_id}", { params: { path: { agent_id: id } }, signal })),
  });
}

// ---- identity -------------------------------------------------------------------------------

export function usersQuery() {
  return infiniteQueryOptions({
    queryKey: ["users"],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/users", {
          params: { query: { limit: PAGE_SIZE, cursor: pageParam ?? undefined } },
          signal,
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
}

export function apiKeysQuery() {
  return infiniteQueryOptions({
    queryKey: ["api-keys"],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/api-keys", {
          params: { query: { limit: PAGE_SIZE, cursor: pageParam ?? undefined } },
          signal,
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
}

export function tenantQuery() {
  return queryOptions({
    queryKey: ["tenant"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/tenant", { signal })),
  });
}

// ---- audit ----------------------------------------------------------------------------------

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

/** A datetime-local input value ("2025-01-02T03:04") as RFC 3339 in UTC, or undefined. */
export function localToRfc3339(value: string): string | undefined {
  if (!value) return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}

export function auditQuery(filters: AuditFilters) {
  return infiniteQueryOptions({
    queryKey: ["audit", filters],
    initialPageParam: null as string | null,
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
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
}
