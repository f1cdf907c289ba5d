/** Agents: the registry list (filtered, sorted, paged), one agent with its ETag, and writes. */
import { infiniteQueryOptions, keepPreviousData, queryOptions } from "@tanstack/react-query";
import { api, unwrap, unwrapWithEtag } from "./client";
import { cursorPaging, PAGE_SIZE } from "./paging";
import type { AgentCreate, AgentSort, AgentStatus, AgentType, AgentUpdate } from "./types";

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

const all = ["agents"] as const;
const lists = [...all, "list"] as const;

/** Query keys: `all` covers every agent query, `lists` every list whatever its filters. */
export const agentKeys = {
  all,
  lists,
  list: (filters: AgentFilters) => [...lists, filters] as const,
  detail: (id: string) => [...all, "one", id] as const,
};

export function agentsQuery(filters: AgentFilters) {
  return infiniteQueryOptions({
    ...cursorPaging,
    queryKey: agentKeys.list(filters),
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
  });
}

export function agentQuery(id: string) {
  return queryOptions({
    queryKey: agentKeys.detail(id),
    queryFn: ({ signal }) =>
      unwrapWithEtag(api.GET("/api/v1/agents/{agent_id}", { params: { path: { agent_id: id } }, signal })),
  });
}

// ---- writes ---------------------------------------------------------------------------------

export function createAgent(body: AgentCreate) {
  return unwrapWithEtag(api.POST("/api/v1/agents", { body }));
}

/** Update with the ETag the form started from, so a concurrent change answers 412. */
export function updateAgent(id: string, etag: string | null, body: AgentUpdate) {
  return unwrapWithEtag(
    api.PATCH("/api/v1/agents/{agent_id}", {
      params: { path: { agent_id: id }, header: etag ? { "if-match": etag } : {} },
      body,
    }),
  );
}

export function deleteAgent(id: string, etag: string | null) {
  return unwrap(
    api.DELETE("/api/v1/agents/{agent_id}", {
      params: { path: { agent_id: id }, header: etag ? { "if-match": etag } : {} },
    }),
  );
}
