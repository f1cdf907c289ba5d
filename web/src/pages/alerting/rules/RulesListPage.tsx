import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { Link } from "react-router";
import { useCan } from "../../../auth/session";
import { FilterBar, FilterSelect, type FilterOption } from "../../../components/FilterBar";
import { ResourceSection } from "../../../components/ResourceSection";
import { PagedTable } from "../../../components/PagedTable";
import { Banner, EmptyState, ErrorBanner, LinkButton, PageHead, Time } from "../../../components/ui";
import { useDebounced } from "../../../lib/useDebounced";
import {
  addDefaultRules,
  exportRules,
  ruleKeys,
  rulesQuery,
  RULE_SEVERITIES,
  toggleRule,
  type RuleFilters,
} from "../../../api/rules";
import { compactSeconds } from "../../../lib/format";
import type { AlertRule } from "../../../api/rules";
import "./rules.css";

const STATE_BADGE: Record<AlertRule["state"], string> = {
  normal: "badge-ok",
  pending: "badge-warn",
  firing: "badge-error",
};

/** Normal / pending / firing as Grafana shows it, with how many series are in it. */
function RuleState({ rule }: { rule: AlertRule }): ReactNode {
  if (!rule.enabled) return <span className="badge badge-muted">paused</span>;
  const count = rule.state === "firing" ? rule.firing_series : rule.state === "pending" ? rule.pending_series : 0;
  return (
    <span className="rule-state" data-state={rule.state}>
      <span className={`badge ${STATE_BADGE[rule.state]}`}>
        <span className="dot" aria-hidden="true" />
        {rule.state}
      </span>
      {count > 1 ? <span className="small muted">{count} series</span> : null}
    </span>
  );
}

const SEVERITY_BADGE: Record<string, string> = {
  critical: "badge-error",
  error: "badge-error",
  warning: "badge-scaling",
  info: "badge-stopped",
};

const ENABLED_OPTIONS: readonly FilterOption<RuleFilters["enabled"]>[] = [
  { value: "", label: "Enabled and disabled" },
  { value: "true", label: "Enabled" },
  { value: "false", label: "Disabled" },
];

export function RulesListPage(): ReactNode {
  const canEdit = useCan("developer");
  const client = useQueryClient();
  const [search, setSearch] = useState("");
  const [severity, setSeverity] = useState<RuleFilters["severity"]>("");
  const [enabled, setEnabled] = useState<RuleFilters["enabled"]>("");
  const q = useDebounced(search);
  const query = useInfiniteQuery(rulesQuery({ q, severity, enabled }));
  const rules = query.data?.pages.flatMap((p) => p.items) ?? [];
  const refresh = (): Promise<void> => client.invalidateQueries({ queryKey: ruleKeys.all });

  const toggle = useMutation({
    mutationFn: toggleRule,
    onSettled: refresh,
  });
  const pack = useMutation({
    mutationFn: addDefaultRules,
    onSettled: refresh,
  });
  const exportFile = useMutation({
    mutationFn: async () => {
      const url = URL.createObjectURL(await exportRules());
      const link = document.createElement("a");
      link.href = url;
      link.download = "alert-rules.yml";
      document.body.append(link);
      link.click();
      link.remove();
      // revoke after the click has been handled (a synchronous revoke can cancel the download)
      window.setTimeout(() => URL.revokeObjectURL(url), 1000);
    },
  });

  return (
    <>
      <PageHead
        title="Alert rules"
        subtitle="What is evaluated against your metrics, how often, and when it fires."
        actions={
          <>
            <button type="button" className="btn" onClick={() => exportFile.mutate()}>
              Export YAML
            </button>
            {canEdit ? (
              <>
                <button type="button" className="btn" onClick={() => pack.mutate()}>
                  Add default rules
                </button>
                <LinkButton to="/alerting/rules/new" icon="plus" primary>
                  New rule
                </LinkButton>
              </>
            ) : null}
          </>
        }
      />
      {pack.data ? (
        <Banner tone="info">
          Default rules: {pack.data.created.length} added, {pack.data.existing.length} already
          present.
        </Banner>
      ) : null}
      {toggle.isError ? <ErrorBanner error={toggle.error} /> : null}
      {exportFile.isError ? <ErrorBanner error={exportFile.error} /> : null}
      <ResourceSection>
        <FilterBar>
          <input
            className="input grow"
            type="search"
            placeholder="Search name, description or expression"
            aria-label="Search rules"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
          <FilterSelect label="Severity" all="All severities" options={RULE_SEVERITIES} value={severity} onChange={setSeverity} />
          <FilterSelect label="Enabled" options={ENABLED_OPTIONS} value={enabled} onChange={setEnabled} />
        </FilterBar>
        <PagedTable
          query={query}
          count={rules.length}
          label="Alert rules"
          head={
            <>
              <th>Name</th>
              <th>State</th>
              <th>Severity</th>
              <th>Expression</th>
              <th>For</th>
              <th>Last evaluation</th>
              <th>Group</th>
              <th>Enabled</th>
            </>
          }
          empty={
            <EmptyState icon="search" title="No alert rules">
              <p>Create one from a metric and a threshold, write PromQL, or add the default rules.</p>
            </EmptyState>
          }
        >
          {rules.map((rule) => (
            <tr key={rule.id}>
              <td>
                <Link to={`/alerting/rules/${rule.id}`}>{rule.name}</Link>
              </td>
              <td>
                <RuleState rule={rule} />
              </td>
              <td>
                <span className={`badge ${SEVERITY_BADGE[rule.severity]}`}>{rule.severity}</span>
              </td>
              <td className="mono" style={{ maxWidth: 440, overflowWrap: "anywhere" }}>
                {rule.expr}
              </td>
              <td>{compactSeconds(rule.for_seconds)}</td>
              <td data-health={rule.health}>
                <Time value={rule.last_evaluated_at} />
                {rule.last_evaluation_ms !== null && rule.last_evaluated_at ? (
                  <span className="small muted"> · {Math.round(rule.last_evaluation_ms)} ms</span>
                ) : null}
                {rule.health === "error" && rule.last_error ? (
                  <div className="rule-error" role="note" aria-label={`Evaluation error of ${rule.name}`}>
                    {rule.last_error}
                  </div>
                ) : null}
              </td>
              <td className="nowrap">{rule.group}</td>
              <td>
                <input
                  type="checkbox"
                  aria-label={`Enable ${rule.name}`}
                  checked={rule.enabled}
                  disabled={!canEdit || toggle.isPending}
                  onChange={() => toggle.mutate(rule)}
                />
              </td>
            </tr>
          ))}
        </PagedTable>
      </ResourceSection>
    </>
  );
}
