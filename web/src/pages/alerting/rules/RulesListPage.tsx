import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { Link } from "react-router";
import { api, unwrap } from "../../../api/client";
import { useCan } from "../../../auth/session";
import {
  Banner,
  EmptyState,
  ErrorBanner,
  LinkButton,
  PageHead,
  Spinner,
} from "../../../components/ui";
import { useDebounced } from "../../../lib/useDebounced";
import { formatSeconds, rulesQuery, SEVERITIES, type AlertRule, type RuleFilters } from "./rulesApi";

const SEVERITY_BADGE: Record<string, string> = {
  critical: "badge-error",
  error: "badge-error",
  warning: "badge-scaling",
  info: "badge-stopped",
};

export function RulesListPage(): ReactNode {
  const canEdit = useCan("developer");
  const client = useQueryClient();
  const [search, setSearch] = useState("");
  const [severity, setSeverity] = useState<RuleFilters["severity"]>("");
  const [enabled, setEnabled] = useState<RuleFilters["enabled"]>("");
  const q = useDebounced(search);
  const query = useInfiniteQuery(rulesQuery({ q, severity, enabled }));
  const rules = query.data?.pages.flatMap((p) => p.items) ?? [];
  const refresh = (): Promise<void> => client.invalidateQueries({ queryKey: ["alert-rules"] });

  const toggle = useMutation({
    mutationFn: (rule: AlertRule) =>
      unwrap(
        api.PATCH("/api/v1/alert-rules/{rule_id}", {
          params: { path: { rule_id: rule.id }, header: { "if-match": `"${rule.revision}"` } },
          body: { enabled: !rule.enabled },
        }),
      ),
    onSettled: refresh,
  });
  const pack = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/alert-rules/default-pack")),
    onSettled: refresh,
  });
  const exportFile = useMutation({
    mutationFn: async () => {
      const { response } = await api.GET("/api/v1/alert-rules/export", { parseAs: "text" });
      const url = URL.createObjectURL(await response.clone().blob());
      const link = document.createElement("a");
      link.href = url;
      link.download = "alert-rules.yml";
      link.click();
      URL.revokeObjectURL(url);
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
      <div className="card">
        <div className="filters" role="search">
          <input
            className="input grow"
            type="search"
            placeholder="Search name, description or expression"
            aria-label="Search rules"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
          <select
            className="select"
            aria-label="Severity"
            value={severity}
            onChange={(e) => setSeverity(e.target.value as RuleFilters["severity"])}
          >
            <option value="">All severities</option>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <select
            className="select"
            aria-label="Enabled"
            value={enabled}
            onChange={(e) => setEnabled(e.target.value as RuleFilters["enabled"])}
          >
            <option value="">Enabled and disabled</option>
            <option value="true">Enabled</option>
            <option value="false">Disabled</option>
          </select>
        </div>
        {query.isError ? <ErrorBanner error={query.error} /> : null}
        {query.isPending ? (
          <div className="center-fill" style={{ minHeight: 200 }}>
            <Spinner />
          </div>
        ) : rules.length === 0 ? (
          <EmptyState icon="search" title="No alert rules">
            <p>Create one from a metric and a threshold, write PromQL, or add the default rules.</p>
          </EmptyState>
        ) : (
          <div className="table-wrap">
          <table className="table" aria-label="Alert rules">
            <thead>
              <tr>
                <th>Name</th>
                <th>Severity</th>
                <th>Expression</th>
                <th>For</th>
                <th>Group</th>
                <th>Enabled</th>
              </tr>
            </thead>
            <tbody>
              {rules.map((rule) => (
                <tr key={rule.id}>
                  <td>
                    <Link to={`/alerting/rules/${rule.id}`}>{rule.name}</Link>
                  </td>
                  <td>
                    <span className={`badge ${SEVERITY_BADGE[rule.severity]}`}>{rule.severity}</span>
                  </td>
                  <td className="mono" style={{ maxWidth: 520, overflowWrap: "anywhere" }}>
                    {rule.expr}
                  </td>
                  <td>{formatSeconds(rule.for_seconds)}</td>
                  <td>{rule.group}</td>
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
            </tbody>
          </table>
          </div>
        )}
        {query.hasNextPage ? (
          <button type="button" className="btn" onClick={() => void query.fetchNextPage()}>
            Load more
          </button>
        ) : null}
      </div>
    </>
  );
}
