/** The alerts list: live over the WebSocket `alerts` channel (refetched at most once a second
 * however many events arrive), filters and grouping in the URL, ack/resolve, bulk actions. */
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type ReactNode } from "react";
import { useSearchParams } from "react-router";
import { errorMessage } from "../../api/problem";
import { useCan } from "../../auth/session";
import { FilterBar, FilterSelect, type FilterOption } from "../../components/FilterBar";
import { ResourceSection } from "../../components/ResourceSection";
import { Banner, EmptyState, ErrorBanner, PageHead } from "../../components/ui";
import { useFilterText } from "../../lib/useUrlFilters";
import { useChannel, useLiveConnection } from "../../lib/wsHooks";
import { throttle } from "../overview/live";
import { NoteDialog, type NoteAction } from "./AlertActions";
import { AlertsTable } from "./AlertsTable";
import { bulkTargets, labelKeys } from "./grouping";
import {
  ALERT_STATUSES,
  alertKeys,
  alertsQuery,
  bulk,
  DEFAULT_ALERT_FILTERS,
  SEVERITIES,
  type AlertFilters,
  type AlertPublic,
} from "../../api/alerts";
import "./alerts.css";

/** Alert events refetch the list at most this often (a storm of events is one refetch). */
const REFRESH_GAP_MS = 1_000;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
function filtersFrom(params: URLSearchParams): AlertFilters {
  const raw = params.get("status") ?? DEFAULT_ALERT_FILTERS.status;
  const status = raw === "all" ? "" : raw;
  const severity = params.get("severity") ?? "";
  const state = params.get("state") ?? "";
  return {
    status: (["", "open", ...ALERT_STATUSES] as string[]).includes(status)
      ? (status as AlertFilters["status"])
      : "open",
    state: state === "notifying" || state === "suppressed" ? state : "",
    severity: (SEVERITIES as string[]).includes(severity) ? (severity as AlertFilters["severity"]) : "",
    rule: params.get("rule") ?? "",
    agent: params.get("agent") ?? "",
    matcher: params.get("matcher") ?? "",
  };
}

const STATE_OPTIONS: readonly FilterOption<Exclude<AlertFilters["state"], "">>[] = [
  { value: "notifying", label: "Notifying" },
  { value: "suppressed", label: "Suppressed (silenced or inhibited)" },
];

const STATUS_OPTIONS: readonly FilterOption<AlertFilters["status"]>[] = [
  { value: "open", label: "Open (active + acknowledged)" },
  ...ALERT_STATUSES,
  { value: "", label: "All" },
];

export function AlertsPage(): ReactNode {
  const [params, setParams] = useSearchParams();
  const filters = filtersFrom(params);
  const rawGroup = params.get("group") ?? "";
  const groupBy = LABEL_NAME.test(rawGroup) ? rawGroup : "";
  const canAct = useCan("developer");
  const client = useQueryClient();
  const live = useLiveConnection();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [pending, setPending] = useState<{ action: NoteAction; ids: string[] } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const update = (patch: Partial<AlertFilters>, group: string = groupBy): void => {
    const next = { ...filters, ...patch };
    const out = new URLSearchParams();
    if (group) out.set("group", group);
    if (next.status !== DEFAULT_ALERT_FILTERS.status) out.set("status", next.status || "all");
    if (next.state) out.set("state", next.state);
    if (next.severity) out.set("severity", next.severity);
    if (next.rule) out.set("rule", next.rule);
    if (next.agent) out.set("agent", next.agent);
    if (next.matcher) out.set("matcher", next.matcher);
    setParams(out, { replace: true });
  };
  const [matcherText, setMatcherText] = useFilterText(filters.matcher, (matcher) => update({ matcher }), 500);
  const [ruleText, setRuleText] = useFilterText(filters.rule, (rule) => update({ rule }), 400);
  const [agentText, setAgentText] = useFilterText(filters.agent, (agent) => update({ agent }), 400);

  // Any alert change in the tenant refetches the list, at most once per REFRESH_GAP_MS.
  const refresh = useMemo(
    () => throttle(() => void client.invalidateQueries({ queryKey: alertKeys.all }), REFRESH_GAP_MS),
    [client],
  );
  useEffect(() => () => refresh.cancel(), [refresh]);
  useChannel("alerts", { onEvent: refresh.call, onSnapshot: refresh.call });

  const query = useInfiniteQuery(alertsQuery(filters));
  const alerts: AlertPublic[] = useMemo(() => query.data?.pages.flatMap((p) => p.items) ?? [], [query.data]);
  const targets = bulkTargets(alerts, selected);
  const groupOptions = useMemo(() => {
    const keys = labelKeys(alerts);
    return groupBy && !keys.includes(groupBy) ? [...keys, groupBy] : keys;
  }, [alerts, groupBy]);

  const act = useMutation({
    mutationFn: ({ action, ids, note }: { action: NoteAction | "unacknowledge"; ids: string[]; note: string }) =>
      bulk(action, ids, note),
    onSuccess: (result) => {
      setNotice(
        result.failed
          ? `${result.succeeded} done, ${result.failed} failed: ${result.results.find((r) => !r.ok)?.error ?? ""}`
          : null,
      );
      setSelected(new Set());
      setPending(null);
      void client.invalidateQueries({ queryKey: alertKeys.all });
    },
  });

  const toggle = (id: string): void => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const toggleMany = (ids: string[], on: boolean): void => setSelected(on ? new Set(ids) : new Set());

  return (
    <>
      <PageHead
        title="Alerts"
        subtitle="What is firing now and what fired before: acknowledge, resolve with a note, follow the timeline."
        actions={
          <span className="small muted" data-live={live}>
            <span className={`badge ${live === "live" ? "badge-ok" : "badge-muted"}`}>
              <span className="dot" aria-hidden="true" />
              {live === "live" ? "live" : live}
            </span>
          </span>
        }
      />
      <ResourceSection>
        <FilterBar>
          <FilterSelect
            label="Status"
            options={STATUS_OPTIONS}
            value={filters.status}
            onChange={(status) => update({ status })}
          />
          <FilterSelect
            label="State"
            all="Notifying or suppressed"
            options={STATE_OPTIONS}
            value={filters.state}
            onChange={(state) => update({ state })}
          />
          <FilterSelect
            label="Severity"
            all="All severities"
            options={SEVERITIES}
            value={filters.severity}
            onChange={(severity) => update({ severity })}
          />
          <input
            className="input"
            placeholder="Rule (alertname)"
            aria-label="Rule"
            value={ruleText}
            onChange={(e) => setRuleText(e.target.value)}
          />
          <input
            className="input"
            placeholder="Agent"
            aria-label="Agent"
            value={agentText}
            onChange={(e) => setAgentText(e.target.value)}
            style={{ width: 140 }}
          />
          <input
            className="input mono grow"
            placeholder='Labels: agent="a1" or {team=~"ops|infra"}'
            aria-label="Label matcher"
            value={matcherText}
            onChange={(e) => setMatcherText(e.target.value)}
          />
          <label className="row small muted" style={{ gap: 6 }}>
            Group by
            <select
              className="select"
              aria-label="Group by"
              value={groupBy}
              onChange={(e) => update({}, e.target.value)}
              style={{ width: "auto" }}
            >
              <option value="">(no grouping)</option>
              {groupOptions.map((key) => (
                <option key={key} value={key}>
                  {key === "alertname" ? "alertname (rule)" : key}
                </option>
              ))}
            </select>
          </label>
          {canAct && targets.resolve.length > 0 ? (
            <>
              <span className="small muted">{targets.resolve.length} selected</span>
              {targets.acknowledge.length > 0 ? (
                <button type="button" className="btn btn-sm" onClick={() => setPending({ action: "acknowledge", ids: targets.acknowledge })}>
                  Acknowledge {targets.acknowledge.length}
                </button>
              ) : null}
              <button type="button" className="btn btn-sm" onClick={() => setPending({ action: "resolve", ids: targets.resolve })}>
                Resolve {targets.resolve.length}
              </button>
            </>
          ) : null}
        </FilterBar>
        {act.isError || notice ? (
          <div className="card-body">
            {act.isError ? <ErrorBanner error={act.error} /> : <Banner tone="warning">{notice}</Banner>}
          </div>
        ) : null}
        <AlertsTable
          query={query}
          alerts={alerts}
          groupBy={groupBy}
          canAct={canAct}
          selected={selected}
          onToggle={toggle}
          onToggleMany={toggleMany}
          onAction={(action, ids) => setPending({ action, ids })}
          empty={
            <EmptyState icon="alerts" title={filters.status === "open" ? "Nothing is firing" : "No alerts match"}>
              <p>
                Alerts appear here the moment a rule fires (or Prometheus sends one to
                <code> /api/v2/alerts</code>), and update live.
              </p>
            </EmptyState>
          }
        />
      </ResourceSection>
      <NoteDialog
        action={pending?.action ?? null}
        count={pending?.ids.length ?? 0}
        busy={act.isPending}
        onConfirm={(note) => pending && act.mutate({ action: pending.action, ids: pending.ids, note })}
        onCancel={() => setPending(null)}
      />
      {act.isError ? <span className="visually-hidden">{errorMessage(act.error)}</span> : null}
    </>
  );
}
