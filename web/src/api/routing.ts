/** Alert routing: silences, inhibition rules, receivers, escalation policies, the routing
 * tree (notification policy) and the per-alert notification trace. */
import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";
import { api, unwrap, unwrapWithEtag } from "./client";
import { cursorPaging, PAGE_SIZE } from "./paging";
import type { components } from "./schema";

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

const silences = ["silences"] as const;
const inhibitionRules = ["inhibition-rules"] as const;

/** Query keys, one root per resource: invalidating `silences` covers every silence list
 * (whatever its filters) but not the create form's preview. */
export const routingKeys = {
  silences,
  silenceList: (state: SilenceState | "", q: string) => [...silences, state, q] as const,
  silencePreview: (matchers: string) => ["silence-preview", matchers] as const,
  inhibitionRules,
  receivers: ["receivers"] as const,
  escalationPolicies: ["escalation-policies"] as const,
  policy: ["notification-policy"] as const,
  trace: (alertId: string) => ["alert-trace", alertId] as const,
};

export function silencesQuery(state: SilenceState | "", q: string) {
  return infiniteQueryOptions({
    ...cursorPaging,
    queryKey: routingKeys.silenceList(state, q),
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/silences", {
          params: {
            query: {
              state: state ? [state] : undefined,
              q: q.trim() || undefined,
              limit: PAGE_SIZE,
              cursor: pageParam ?? undefined,
            },
          },
          signal,
        }),
      ),
  });
}

/** Which unresolved alerts `matchers` (JSON of complete matchers) would silence. */
export function silencePreviewQuery(matchers: string) {
  const ready = JSON.parse(matchers) as Matcher[];
  return queryOptions({
    queryKey: routingKeys.silencePreview(matchers),
    enabled: ready.length > 0,
    queryFn: ({ signal }) =>
      unwrap(api.POST("/api/v1/silences/preview", { body: { matchers: ready }, signal })),
  });
}

export function inhibitionQuery() {
  return infiniteQueryOptions({
    ...cursorPaging,
    queryKey: routingKeys.inhibitionRules,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/inhibition-rules", {
          params: { query: { limit: 100, cursor: pageParam ?? undefined } },
          signal,
        }),
      ),
  });
}

export function receiversQuery() {
  return queryOptions({
    queryKey: routingKeys.receivers,
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/receivers", { params: { query: { limit: 500 } }, signal })),
  });
}

export function escalationQuery() {
  return queryOptions({
    queryKey: routingKeys.escalationPolicies,
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/escalation-policies", { params: { query: { limit: 500 } }, signal })),
  });
}

export function policyQuery() {
  return queryOptions({
    queryKey: routingKeys.policy,
    queryFn: ({ signal }) => unwrapWithEtag(api.GET("/api/v1/notification-policy", { signal })),
  });
}

export function traceQuery(alertId: string) {
  return queryOptions({
    queryKey: routingKeys.trace(alertId),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/v1/alerts/{alert_id}/trace", {
          params: { path: { alert_id: alertId } },
          signal,
        }),
      ),
  });
}

// ---- writes ---------------------------------------------------------------------------------

export function createSilence(body: S["SilenceCreate"]) {
  return unwrap(api.POST("/api/v1/silences", { body }));
}

export function expireSilence(id: string) {
  return unwrap(api.POST("/api/v1/silences/{silence_id}/expire", { params: { path: { silence_id: id } } }));
}

/** One click: silence an alert by all of its labels for `seconds`. */
export function silenceAlert(alertId: string, seconds: number) {
  return unwrap(
    api.POST("/api/v1/silences/from-alert/{alert_id}", {
      params: { path: { alert_id: alertId } },
      body: { duration_seconds: seconds, comment: "silenced from the alert page" },
    }),
  );
}

export function createInhibitionRule(body: S["InhibitionRuleCreate"]) {
  return unwrap(api.POST("/api/v1/inhibition-rules", { body }));
}

export function toggleInhibitionRule(rule: InhibitionRule) {
  return unwrap(
    api.PATCH("/api/v1/inhibition-rules/{rule_id}", {
      params: { path: { rule_id: rule.id } },
      body: { enabled: !rule.enabled },
    }),
  );
}

export function deleteInhibitionRule(id: string) {
  return unwrap(api.DELETE("/api/v1/inhibition-rules/{rule_id}", { params: { path: { rule_id: id } } }));
}

export function createReceiver(body: S["ReceiverCreate"]) {
  return unwrap(api.POST("/api/v1/receivers", { body }));
}

export function updateReceiver(id: string, body: S["ReceiverUpdate"]) {
  return unwrap(api.PATCH("/api/v1/receivers/{receiver_id}", { params: { path: { receiver_id: id } }, body }));
}

export function deleteReceiver(id: string) {
  return unwrap(api.DELETE("/api/v1/receivers/{receiver_id}", { params: { path: { receiver_id: id } } }));
}

export function createEscalationPolicy(body: S["EscalationPolicyCreate"]) {
  return unwrap(api.POST("/api/v1/escalation-policies", { body }));
}

export function deleteEscalationPolicy(id: string) {
  return unwrap(
    api.DELETE("/api/v1/escalation-policies/{policy_id}", { params: { path: { policy_id: id } } }),
  );
}

/** Replace the routing tree if it is still at `etag`. */
export function saveRoutingTree(tree: RoutingTreeInput, etag: string | null) {
  return unwrapWithEtag(
    api.PUT("/api/v1/notification-policy", {
      body: tree,
      headers: etag ? { "If-Match": etag } : {},
    }),
  );
}
