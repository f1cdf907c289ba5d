/** Every rollout of the tenant, newest first, with live progress over the `deployments` channel. */
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { type ReactNode } from "react";
import { Link } from "react-router";
import { agentsQuery, DEFAULT_AGENT_FILTERS } from "../../api/agents";
import {
  DEPLOYMENT_STATUSES,
  deploymentsQuery,
  fleetKeys,
  TRIGGER_KINDS,
  type DeploymentFilters,
} from "../../api/fleet";
import { FilterBar, FilterSelect } from "../../components/FilterBar";
import { PagedTable } from "../../components/PagedTable";
import { ResourceSection } from "../../components/ResourceSection";
import { EmptyState, PageHead, Time } from "../../components/ui";
import { useFilterText, useUrlFilters } from "../../lib/useUrlFilters";
import { useChannel, useLiveConnection } from "../../lib/wsHooks";
import { DeploymentCells } from "./parts";

function filtersFrom(params: URLSearchParams): DeploymentFilters {
  const status = params.get("status") ?? "";
  const trigger = params.get("triggered_by") ?? "";
  return {
    status: (DEPLOYMENT_STATUSES as readonly string[]).includes(status) ? (status as DeploymentFilters["status"]) : "",
    triggered_by: (TRIGGER_KINDS as readonly string[]).includes(trigger)
      ? (trigger as DeploymentFilters["triggered_by"])
      : "",
    version: params.get("version") ?? "",
    agent_id: params.get("agent_id") ?? "",
  };
}

export function DeploymentsPage(): ReactNode {
  const { filters, update, clear: clearFilters } = useUrlFilters(filtersFrom);
  const client = useQueryClient();
  const live = useLiveConnection();
  const [version, setVersion] = useFilterText(filters.version, (text) => update({ version: text }));

  useChannel("deployments", {
    onEvent: () => {
      void client.invalidateQueries({ queryKey: fleetKeys.deployments });
    },
  });

  const query = useInfiniteQuery(deploymentsQuery(filters));
  // The agents' names (the deployments carry ids); the first page covers most tenants.
  const agents = useInfiniteQuery(agentsQuery(DEFAULT_AGENT_FILTERS));
  const names = new Map((agents.data?.pages ?? []).flatMap((p) => p.items).map((a) => [a.id, a.name]));
  const items = query.data?.pages.flatMap((p) => p.items) ?? [];
  const filtered = Boolean(filters.status || filters.triggered_by || filters.version || filters.agent_id);
  const clear = (): void => {
    setVersion("");
    clearFilters();
  };

  return (
    <>
      <PageHead
        title="Deployments"
        subtitle={
          <>
            Every rollout of the fleet, newest first.{" "}
            <span className="small muted" data-live={live}>
              {live === "live" ? "● live" : live}
            </span>
          </>
        }
      />
      <ResourceSection>
        <FilterBar onClear={clear} filtered={filtered}>
          <FilterSelect
            label="Status"
            all="All statuses"
            options={DEPLOYMENT_STATUSES}
            value={filters.status}
            onChange={(status) => update({ status })}
          />
          <FilterSelect
            label="Triggered by"
            all="Anyone"
            options={TRIGGER_KINDS}
            value={filters.triggered_by}
            onChange={(triggered_by) => update({ triggered_by })}
          />
          <input
            className="input mono"
            placeholder="Version"
            aria-label="Version"
            value={version}
            onChange={(e) => setVersion(e.target.value)}
          />
          {filters.agent_id ? (
            <button type="button" className="btn btn-sm" onClick={() => update({ agent_id: "" })}>
              One agent only ×
            </button>
          ) : null}
        </FilterBar>
        <PagedTable
          query={query}
          count={items.length}
          label="Deployments"
          noun={["deployment", "deployments"]}
          head={
            <>
              <th>Version</th>
              <th>Agent</th>
              <th>Status</th>
              <th>Progress</th>
              <th>Strategy</th>
              <th>Triggered by</th>
              <th>Started</th>
              <th>Finished</th>
            </>
          }
          empty={
            <EmptyState icon="deployments" title={filtered ? "No deployments match these filters" : "No deployments yet"}>
              <p>
                {filtered
                  ? "Try another status or version."
                  : "Deploy a version from an agent's page, through the API, or from a GitHub push."}
              </p>
            </EmptyState>
          }
        >
          {items.map((d) => (
            <tr key={d.id} data-version={d.version}>
              <td>
                <Link className="primary-link mono" to={`/deployments/${d.id}`}>
                  {d.version}
                </Link>
                {d.commit_sha ? <div className="mono small muted">{d.commit_sha.slice(0, 7)}</div> : null}
              </td>
              <td>
                <Link to={`/agents/${d.agent_id}`}>{names.get(d.agent_id) ?? d.agent_id.slice(0, 8)}</Link>
              </td>
              <DeploymentCells deployment={d} />
              <td>
                <Time value={d.completed_at} />
              </td>
            </tr>
          ))}
        </PagedTable>
      </ResourceSection>
    </>
  );
}
