/** The global search box's queries: agents and alert rules by name, and the open alerts it
 * matches itself (they are few). */
import { queryOptions } from "@tanstack/react-query";
import { api, unwrap } from "./client";

/** How many agents and rules one search shows. */
export const SEARCH_LIMIT = 8;

const all = ["search"] as const;

/** Query keys: `all` covers every search query. */
export const searchKeys = {
  all,
  agents: (q: string) => [...all, "agents", q] as const,
  rules: (q: string) => [...all, "rules", q] as const,
  openAlerts: [...all, "alerts"] as const,
};

export function agentSearchQuery(q: string) {
  return queryOptions({
    queryKey: searchKeys.agents(q),
    enabled: q.length > 0,
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/agents", { params: { query: { q, limit: SEARCH_LIMIT } }, signal })),
  });
}

export function ruleSearchQuery(q: string) {
  return queryOptions({
    queryKey: searchKeys.rules(q),
    enabled: q.length > 0,
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/alert-rules", { params: { query: { q, limit: SEARCH_LIMIT } }, signal })),
  });
}

/** The open (active or acknowledged) alerts, fetched once a search starts. */
export function openAlertsQuery(enabled: boolean) {
  return queryOptions({
    queryKey: searchKeys.openAlerts,
    enabled,
    staleTime: 10_000,
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/alerts", { params: { query: { status: ["active", "acknowledged"], limit: 100 } }, signal })),
  });
}
