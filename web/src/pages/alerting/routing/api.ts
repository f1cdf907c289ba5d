/** Types and queries of the routing pages (silences, inhibition, receivers, tree, escalation). */
import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";
import { api, unwrap, unwrapWithEtag } from "../../../api/client";
import type { components } from "../../../api/schema";

type S = components["schemas"];
export type Matcher = S["MatcherModel"];
export type MatcherOp = Matcher["op"];
export type Silence = S["SilencePublic"];
export type SilenceState = S["SilenceState"];
export type InhibitionRule = S["InhibitionRulePublic"];
export type Receiver = S["ReceiverPublic"];
export type EscalationPolicy = S["EscalationPolicyPublic"];
export type EscalationLevel = S["EscalationLevel"];
export type RouteNode = S["RouteNode-Output"];
export type RoutingTreeInput = S["RoutingTree-Input"];
export type TraceStep = S["TraceStep"];

export const OPS: readonly MatcherOp[] = ["=", "!=", "=~", "!~"];

export function matcherText(m: Matcher): string {
  return `${m.name}${m.op}"${m.value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function silencesQuery(state: SilenceState | "", q: string) {
  return infiniteQueryOptions({
    queryKey: ["silences", state, q],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/silences", {
          params: {
            query: {
              state: state ? [state] : undefined,
              q: q.trim() || undefined,
              limit: 50,
              cursor: pageParam ?? undefined,
            },
          },
          signal,
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
}

export function inhibitionQuery() {
  return infiniteQueryOptions({
    queryKey: ["inhibition-rules"],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/inhibition-rules", {
          params: { query: { limit: 100, cursor: pageParam ?? undefined } },
          signal,
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
}

export function receiversQuery() {
  return queryOptions({
    queryKey: ["receivers"],
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/receivers", { params: { query: { limit: 500 } }, signal })),
  });
}

export function escalationQuery() {
  return queryOptions({
    queryKey: ["escalation-policies"],
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/escalation-policies", { params: { query: { limit: 500 } }, signal })),
  });
}

export function policyQuery() {
  return queryOptions({
    queryKey: ["notification-policy"],
    queryFn: ({ signal }) => unwrapWithEtag(api.GET("/api/v1/notification-policy", { signal })),
  });
}

export function traceQuery(alertId: string) {
  return queryOptions({
    queryKey: ["alert-trace", alertId],
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/alerts/{alert_id}/trace", {
          params: { path: { alert_id: alertId } },
          signal,
        }),
      ),
  });
}

export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return "—";
  if (s % 3600 === 0 && s >= 3600) return `${s / 3600} h`;
  if (s % 60 === 0 && s >= 60) return `${s / 60} min`;
  return `${s} s`;
}
