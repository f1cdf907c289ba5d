/** The alerts list: live over the WebSocket `alerts` channel, filters, ack/resolve, bulk. */
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type ReactNode } from "react";
import { Link, useSearchParams } from "react-router";
import { errorMessage } from "../../api/problem";
import { useCan } from "../../auth/session";
import { FilterBar, FilterSelect, type FilterOption } from "../../components/FilterBar";
import { QueryStates } from "../../components/QueryStates";
import { ResourceSection } from "../../components/ResourceSection";
import { Banner, EmptyState, ErrorBanner, Labels, PageHead, Time } from "../../components/ui";
import { formatValue } from "../../lib/chartData";
import { useDebounced } from "../../lib/useDebounced";
import { useChannel, useLiveConnection } from "../../lib/wsHooks";
import { NoteDialog, type NoteAction } from "./AlertActions";
import { AlertStatusBadge, SeverityBadge } from "./AlertBadges";
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
import { TableFoot } from "../../components/TableFoot";

function filtersFrom(params: URLSearchParams): AlertFilters {
  const raw = params.get("status") ?? DEFAULT_ALERT_FILTERS.status;
  const status = raw === "all" ? "" : raw;
  const severity = params.get("severity") ?? "";
  return {
    status: (["", "open", ...ALERT_STATUSES] as string[]).includes(status)
      ? (status as AlertFilters["status"])
      : "open",
    severity: (SEVERITIES as string[]).includes(severity) ? (severity as AlertFilters["severity"]) : "",
    rule: params.get("rule") ?? "",
    agent: params.get("agent") ?? "",
    matcher: params.get("matcher") ?? "",
  };
}

const STATUS_OPTIONS: readonly FilterOption<AlertFilters["status"]>[] = [
  { value: "open", label: "Open (active + acknowledged)" },
  ...ALERT_STATUSES,
  { value: "", label: "All" },
];

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d ${Math.floor((seconds % 86400) / 3600)}h`;
}

export function AlertsPage(): ReactNode {
  const [params, setParams] = useSearchParams();
  const filters = filtersFrom(params);
  const canAct = useCan("developer");
  const client = useQueryClient();
  const live = useLiveConnection();
  const [matcherText, setMatcherText] = useState(filters.matcher);
  const [ruleText, setRuleText] = useState(filters.rule);
  const debouncedMatcher = useDebounced(matcherText, 500);
  const debouncedRule = useDebounced(ruleText, 400);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [pending, setPending] = useState<{ action: NoteAction; ids: string[] } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const update = (patch: Partial<AlertFilters>): void => {
    const next = { ...filters, ...patch };
    const out = new URLSearchParams();
    if (next.status !== DEFAULT_ALERT_FILTERS.status) out.set("status", next.status || "all");
    if (next.severity) out.set("severity", next.severity);
    if (next.rule) out.set("rule", next.rule);
    if (next.agent) out.set("agent", next.agent);
    if (next.matcher) out.set("matcher", next.matcher);
    setParams(out, { replace: true });
  };
  useEffect(() => {
    if (debouncedMatcher !== filters.matcher) update({ matcher: debouncedMatcher });
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only when the typing settles
  }, [debouncedMatcher]);
  useEffect(() => {
    if (debouncedRule !== filters.rule) update({ rule: debouncedRule });
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only when the typing settles
  }, [debouncedRule]);

  // Any alert change in the tenant refetches the list (and open detail pages).
  useChannel("alerts", {
    onEvent: () => void client.invalidateQueries({ queryKey: alertKeys.all }),
    onSnapshot: () => void client.invalidateQueries({ queryKey: alertKeys.all }),
  });

  const query = useInfiniteQuery(alertsQuery(filters));
  const alerts: AlertPublic[] = query.data?.pages.flatMap((p) => p.items) ?? [];
  const open = alerts.filter((a) => a.is_active);
  const chosen = [...selected].filter((id) => alerts.some((a) => a.id === id));

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
  const allChecked = open.length > 0 && open.every((a) => selected.has(a.id));

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
            className="input mono grow"
            placeholder='Labels: agent="a1" or {team=~"ops|infra"}'
            aria-label="Label matcher"
            value={matcherText}
            onChange={(e) => setMatcherText(e.target.value)}
          />
          {canAct && chosen.length > 0 ? (
            <>
              <span className="small muted">{chosen.length} selected</span>
              <button type="button" className="btn btn-sm" onClick={() => setPending({ action: "acknowledge", ids: chosen })}>
                Acknowledge
              </button>
              <button type="button" className="btn btn-sm" onClick={() => setPending({ action: "resolve", ids: chosen })}>
                Resolve
              </button>
            </>
          ) : null}
        </FilterBar>
        {act.isError || notice ? (
          <div className="card-body">
            {act.isError ? <ErrorBanner error={act.error} /> : <Banner tone="warning">{notice}</Banner>}
          </div>
        ) : null}
        <QueryStates
          query={query}
          isEmpty={alerts.length === 0}
          minHeight={200}
          empty={
            <EmptyState icon="alerts" title={filters.status === "open" ? "Nothing is firing" : "No alerts match"}>
              <p>
                Alerts appear here the moment a rule fires (or Prometheus sends one to
                <code> /api/v2/alerts</code>), and update live.
              </p>
            </EmptyState>
          }
        >
          <>
            <div className="table-wrap">
              <table className="table" aria-label="Alerts">
                <thead>
                  <tr>
                    {canAct ? (
                      <th style={{ width: 32 }}>
                        <input
                          type="checkbox"
                          className="checkbox"
                          aria-label="Select all open alerts"
                          checked={allChecked}
                          onChange={() => setSelected(allChecked ? new Set() : new Set(open.map((a) => a.id)))}
                        />
                      </th>
                    ) : null}
                    <th>Alert</th>
                    <th>Severity</th>
                    <th>Status</th>
                    <th>Value</th>
                    <th>Labels</th>
                    <th>Started</th>
                    <th>Duration</th>
                    {canAct ? <th aria-label="Actions" /> : null}
                  </tr>
                </thead>
                <tbody>
                  {alerts.map((alert) => (
                    <tr key={alert.id} data-alert={alert.rule_name} data-status={alert.status}>
                      {canAct ? (
                        <td>
                          <input
                            type="checkbox"
                            className="checkbox"
                            aria-label={`Select ${alert.rule_name}`}
                            checked={selected.has(alert.id)}
                            disabled={!alert.is_active}
                            onChange={() => toggle(alert.id)}
                          />
                        </td>
                      ) : null}
                      <td>
                        <Link className="primary-link" to={`/alerts/${alert.id}`}>
                          {alert.rule_name}
                        </Link>
                        {alert.annotations.summary ? (
                          <div className="small muted" style={{ maxWidth: 360 }}>
                            {alert.annotations.summary}
                          </div>
                        ) : null}
                        {alert.reason !== "firing" ? <span className="badge badge-muted">{alert.reason}</span> : null}
                        {alert.silenced ? <span className="badge badge-muted">silenced</span> : null}
                      </td>
                      <td>
                        <SeverityBadge severity={alert.severity} />
                      </td>
                      <td>
                        <AlertStatusBadge status={alert.status} />
                      </td>
                      <td className="mono">{formatValue(alert.value)}</td>
                      <td className="labels-cell">
                        <Labels labels={alert.labels} />
                      </td>
                      <td>
                        <Time value={alert.starts_at} />
                      </td>
                      <td className="nowrap">{duration(alert.duration_seconds)}</td>
                      {canAct ? (
                        <td className="nowrap">
                          {alert.status === "active" ? (
                            <button
                              type="button"
                              className="btn btn-sm"
                              onClick={() => setPending({ action: "acknowledge", ids: [alert.id] })}
                            >
                              Ack
                            </button>
                          ) : null}
                          {alert.is_active ? (
                            <button
                              type="button"
                              className="btn btn-sm btn-ghost"
                              onClick={() => setPending({ action: "resolve", ids: [alert.id] })}
                            >
                              Resolve
                            </button>
                          ) : null}
                        </td>
                      ) : null}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <TableFoot query={query} count={alerts.length} noun={["alert", "alerts"]} />
          </>
        </QueryStates>
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
