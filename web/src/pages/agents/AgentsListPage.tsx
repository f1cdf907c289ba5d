import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { type ReactNode } from "react";
import { Link } from "react-router";
import { agentKeys, agentsQuery, DEFAULT_AGENT_FILTERS, type AgentFilters } from "../../api/agents";
import { AGENT_STATUSES, AGENT_TYPES, type AgentSort } from "../../api/types";
import { useCan } from "../../auth/session";
import { Icon } from "../../components/Icon";
import { FilterBar, FilterSelect } from "../../components/FilterBar";
import { PagedTable } from "../../components/PagedTable";
import { ResourceSection } from "../../components/ResourceSection";
import { EmptyState, Labels, LinkButton, PageHead, StatusBadge, Time } from "../../components/ui";
import { useFilterText, useUrlFilters } from "../../lib/useUrlFilters";
import { useChannel, useLiveConnection } from "../../lib/wsHooks";
import { FleetControls, ReplicaCount } from "./FleetControls";

const SORTS = new Set<string>([
  "name", "-name", "created_at", "-created_at", "updated_at", "-updated_at", "status", "-status",
]);

function filtersFrom(params: URLSearchParams): AgentFilters {
  const type = params.get("type") ?? "";
  const status = params.get("status") ?? "";
  const sort = params.get("sort") ?? DEFAULT_AGENT_FILTERS.sort;
  return {
    q: params.get("q") ?? "",
    type: (AGENT_TYPES as readonly string[]).includes(type) ? (type as AgentFilters["type"]) : "",
    status: (AGENT_STATUSES as readonly string[]).includes(status)
      ? (status as AgentFilters["status"])
      : "",
    label: params.get("label") ?? "",
    sort: SORTS.has(sort) ? (sort as AgentSort) : DEFAULT_AGENT_FILTERS.sort,
  };
}

function SortHeader({
  field,
  label,
  sort,
  onSort,
}: {
  field: string;
  label: string;
  sort: AgentSort;
  onSort: (sort: AgentSort) => void;
}): ReactNode {
  const active = sort === field || sort === `-${field}`;
  const descending = sort.startsWith("-");
  const next = (active && !descending ? `-${field}` : field) as AgentSort;
  return (
    <th aria-sort={active ? (descending ? "descending" : "ascending") : undefined}>
      <button type="button" className="sort" onClick={() => onSort(next)} aria-sort={active ? (descending ? "descending" : "ascending") : undefined}>
        {label}
        {active ? <Icon name={descending ? "arrowDown" : "arrowUp"} /> : null}
      </button>
    </th>
  );
}

export function AgentsListPage(): ReactNode {
  const { filters, update, clear: clearFilters } = useUrlFilters(filtersFrom, DEFAULT_AGENT_FILTERS);
  const canEdit = useCan("developer");
  const [search, setSearch] = useFilterText(filters.q, (q) => update({ q }));
  const [labelText, setLabelText] = useFilterText(filters.label, (label) => update({ label }), 500);

  const query = useInfiniteQuery(agentsQuery(filters));
  const client = useQueryClient();
  useLiveConnection();
  // Status changes of any agent: reload the list (its rows embed status and health).
  useChannel("fleet", {
    onEvent: () => {
      void client.invalidateQueries({ queryKey: agentKeys.lists });
    },
  });
  const agents = query.data?.pages.flatMap((p) => p.items) ?? [];
  const filtered = Boolean(filters.q || filters.type || filters.status || filters.label);
  const clear = (): void => {
    setSearch("");
    setLabelText("");
    clearFilters();
  };

  return (
    <>
      <PageHead
        title="Agents"
        subtitle="The agents registered in this tenant: what they are, how they are sized, and where they stand."
        actions={
          canEdit ? (
            <LinkButton to="/agents/new" icon="plus" primary>
              New agent
            </LinkButton>
          ) : undefined
        }
      />
      <ResourceSection>
        <FilterBar onClear={clear} filtered={filtered}>
          <input
            className="input grow"
            type="search"
            placeholder="Search name or description"
            aria-label="Search agents"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
          <FilterSelect
            label="Type"
            all="All types"
            options={AGENT_TYPES}
            value={filters.type}
            onChange={(type) => update({ type })}
          />
          <FilterSelect
            label="Status"
            all="All statuses"
            options={AGENT_STATUSES}
            value={filters.status}
            onChange={(status) => update({ status })}
          />
          <input
            className="input mono"
            style={{ minWidth: 220 }}
            placeholder="Labels: env=prod,team!=ml"
            aria-label="Label selector"
            value={labelText}
            onChange={(e) => setLabelText(e.target.value)}
          />
        </FilterBar>
        <PagedTable
          query={query}
          count={agents.length}
          label="Agents"
          noun={["agent", "agents"]}
          head={
            <>
              <SortHeader field="name" label="Name" sort={filters.sort} onSort={(s) => update({ sort: s })} />
              <th>Type · model</th>
              <SortHeader field="status" label="Status" sort={filters.sort} onSort={(s) => update({ sort: s })} />
              <th>Replicas</th>
              {canEdit ? <th>Actions</th> : null}
              <th>Labels</th>
              <SortHeader field="created_at" label="Created" sort={filters.sort} onSort={(s) => update({ sort: s })} />
              <SortHeader field="updated_at" label="Updated" sort={filters.sort} onSort={(s) => update({ sort: s })} />
            </>
          }
          empty={
            filtered ? (
              <EmptyState
                icon="search"
                title="No agents match these filters"
                action={
                  <button type="button" className="btn" onClick={clear}>
                    Clear filters
                  </button>
                }
              >
                <p>Try a shorter search, another status, or a looser label selector.</p>
              </EmptyState>
            ) : (
              <EmptyState
                icon="agents"
                title="No agents yet"
                action={
                  canEdit ? (
                    <LinkButton to="/agents/new" icon="plus" primary>
                      Register an agent
                    </LinkButton>
                  ) : undefined
                }
              >
                <p>
                  An agent is one AI service of your fleet: an LLM assistant, a classifier, an
                  extractor. Register it here to size it, label it and follow its status.
                  {canEdit ? null : " Developers and admins can register agents."}
                </p>
              </EmptyState>
            )
          }
        >
          {agents.map((agent) => (
            <tr key={agent.id} data-agent={agent.name}>
              <td>
                <Link className="primary-link" to={`/agents/${agent.id}`}>
                  {agent.name}
                </Link>
                {agent.description ? (
                  <div className="small muted" style={{ maxWidth: 320, overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}>
                    {agent.description}
                  </div>
                ) : null}
              </td>
              <td>
                {agent.type}
                {agent.model ? <div className="mono small muted nowrap">{agent.model}</div> : null}
              </td>
              <td>
                <StatusBadge status={agent.status} />
              </td>
              <td>
                <ReplicaCount agent={agent} />
              </td>
              {canEdit ? (
                <td>
                  <FleetControls agent={agent} compact />
                </td>
              ) : null}
              <td className="labels-cell">
                <Labels labels={agent.labels} />
              </td>
              <td>
                <Time value={agent.created_at} />
              </td>
              <td>
                <Time value={agent.updated_at} />
              </td>
            </tr>
          ))}
        </PagedTable>
      </ResourceSection>
    </>
  );
}
