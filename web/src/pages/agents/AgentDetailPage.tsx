import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, type ReactNode } from "react";
import { useNavigate, useParams, useSearchParams } from "react-router";
import { agentKeys, agentQuery, deleteAgent } from "../../api/agents";
import { useCan, useSession } from "../../auth/session";
import { DetailFailure, DetailHead, PropList } from "../../components/DetailHead";
import { Icon } from "../../components/Icon";
import {
  Banner,
  ConfirmFor,
  ErrorBanner,
  Labels,
  LinkButton,
  Loading,
  StatusBadge,
  Time,
} from "../../components/ui";
import type { AgentPublic } from "../../api/types";
import { formatTime, pretty } from "../../lib/format";
import { useConfirm } from "../../lib/useConfirm";
import { AgentCharts } from "./AgentCharts";
import { DeploymentsCard } from "./AgentDeployments";
import { DecisionsCard, OutputCard, ReplicasCard } from "./AgentRuntime";
import { useAgentLive } from "../../lib/fleet";
import { FleetControls, ReplicaCount } from "./FleetControls";

const AGENTS = { to: "/agents", label: "Agents" };

// The log viewer (list virtualiser, histogram) loads when the tab is first opened.
const AgentLogs = lazy(() => import("./AgentLogs").then((m) => ({ default: m.AgentLogs })));

function autoScalingText(config: Record<string, unknown>): string {
  const auto = config.auto_scaling;
  if (typeof auto !== "object" || auto === null) return "off";
  const a = auto as { enabled?: unknown; min_replicas?: unknown; max_replicas?: unknown };
  const count = (v: unknown): string => (typeof v === "number" ? String(v) : "?");
  const bounds = `${count(a.min_replicas)}–${count(a.max_replicas)} replicas`;
  return a.enabled === true ? `on, ${bounds}` : `off (bounds ${bounds})`;
}

export function AgentDetailPage(): ReactNode {
  const { agentId = "" } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const session = useSession();
  const canEdit = useCan("developer");
  const deleting = useConfirm<AgentPublic>();
  const [params, setParams] = useSearchParams();
  const tab = params.get("tab") === "logs" ? "logs" : "overview";
  const query = useQuery(agentQuery(agentId));
  useAgentLive(agentId);

  const remove = useMutation({
    mutationFn: (etag: string | null) => deleteAgent(agentId, etag),
    onSuccess: async () => {
      deleting.close();
      queryClient.removeQueries({ queryKey: agentKeys.detail(agentId) });
      await queryClient.invalidateQueries({ queryKey: agentKeys.lists });
      await navigate("/agents", { replace: true });
    },
    onError: () => deleting.close(),
  });

  const reload = (): void => {
    remove.reset();
    void query.refetch();
  };

  if (query.isPending) return <Loading />;
  if (query.isError) {
    return (
      <DetailFailure what="Agent" list={AGENTS} icon="agents" error={query.error}>
        <p>It may have been deleted, or the link is wrong.</p>
      </DetailFailure>
    );
  }

  const { data: agent, etag } = query.data;
  const owner =
    agent.owner_id === null ? "nobody" : agent.owner_id === session.user.id ? "you" : agent.owner_id;

  return (
    <>
      <DetailHead
        list={AGENTS}
        crumb={agent.name}
        title={agent.name}
        badges={<StatusBadge status={agent.status} />}
        docTitle={agent.name}
        subtitle={agent.description || <span className="faint">No description</span>}
        actions={
          <>
            <LinkButton to={`/alerts?${new URLSearchParams({ agent: agent.name }).toString()}`} icon="alerts">
              Alerts
            </LinkButton>
            {canEdit ? (
            <>
              <LinkButton to={`/agents/${agent.id}/edit`} icon="edit">
                Edit
              </LinkButton>
              <button type="button" className="btn btn-danger-ghost" onClick={() => deleting.ask(agent)}>
                <Icon name="trash" /> Delete
              </button>
            </>
            ) : null}
          </>
        }
      />
      <div className="tabs" role="tablist" aria-label="Agent views">
        {(["overview", "logs"] as const).map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            aria-selected={tab === t}
            onClick={() => setParams(t === "overview" ? {} : { tab: t }, { replace: true })}
          >
            {t === "overview" ? "Overview" : "Logs"}
          </button>
        ))}
      </div>
      {tab === "logs" ? (
        <div role="tabpanel" aria-label="Logs">
          {remove.isError ? <ErrorBanner error={remove.error} onReload={reload} /> : null}
          <Suspense fallback={<Loading />}>
            <AgentLogs key={agent.name} agent={agent.name} />
          </Suspense>
        </div>
      ) : (
        <div className="stack" role="tabpanel" aria-label="Overview">
          {remove.isError ? <ErrorBanner error={remove.error} onReload={reload} /> : null}
          {agent.health?.detail ? (
            <Banner tone="error">
              <pre className="output" style={{ background: "transparent", padding: 0 }}>{agent.health.detail}</pre>
            </Banner>
          ) : null}
          <section className="card" aria-label="Runtime">
            <div className="card-head">
              <h2>Runtime</h2>
              <span className="small muted">ready/desired</span>
              <ReplicaCount agent={agent} />
            </div>
            {canEdit ? (
              <div className="card-body">
                <FleetControls key={agent.replica_count} agent={agent} />
              </div>
            ) : null}
          </section>
          <ReplicasCard agent={agent} />
          <OutputCard agent={agent} />
          <DeploymentsCard agent={agent} canEdit={canEdit} />
          <DecisionsCard agent={agent} />
          <div className="grid-2">
            <section className="card">
              <div className="card-head">
                <h2>Details</h2>
              </div>
              <div className="card-body">
                <PropList
                  label="Details"
                  items={[
                    ["Type", agent.type],
                    ["Status", <StatusBadge status={agent.status} />],
                    ["Model", agent.model ?? <span className="faint">—</span>, "mono"],
                    ["Version", agent.version, "mono"],
                    ["Owner", owner, owner.length > 10 ? "mono small" : undefined],
                    ["Revision", agent.revision],
                    ["ID", agent.id, "mono small"],
                  ]}
                />
              </div>
            </section>
            <section className="card">
              <div className="card-head">
                <h2>Resources</h2>
              </div>
              <div className="card-body">
                <PropList
                  label="Resources"
                  items={[
                    ["Replicas", agent.replica_count],
                    ["Auto-scaling", autoScalingText(agent.config)],
                    ["CPU limit", agent.cpu_limit, "mono"],
                    ["Memory limit", agent.memory_limit, "mono"],
                    ["Created", <Time value={agent.created_at} />, undefined, formatTime(agent.created_at)],
                    ["Updated", <Time value={agent.updated_at} />],
                    ["Last health check", <Time value={agent.last_health_check} />],
                    ["Last seen", <Time value={agent.last_seen_at} />],
                  ]}
                />
              </div>
            </section>
          </div>
          <AgentCharts agent={agent.name} />
          <section className="card">
            <div className="card-head">
              <h2>Labels</h2>
            </div>
            <div className="card-body">
              <Labels labels={agent.labels} />
            </div>
          </section>
          <section className="card" aria-label="Dependencies">
            <div className="card-head">
              <h2>Dependencies</h2>
            </div>
            <div className="card-body">
              {agent.dependencies.length === 0 ? (
                <span className="faint">None declared</span>
              ) : (
                <div className="chips">
                  {agent.dependencies.map((name) => (
                    <span className="chip" key={name}>
                      {name}
                    </span>
                  ))}
                </div>
              )}
            </div>
          </section>
          <div className="grid-2">
            <section className="card">
              <div className="card-head">
                <h2>Configuration</h2>
              </div>
              <div className="card-body">
                <pre className="json" aria-label="Configuration JSON">{pretty(agent.config)}</pre>
              </div>
            </section>
            <section className="card">
              <div className="card-head">
                <h2>Metadata</h2>
              </div>
              <div className="card-body">
                <pre className="json" aria-label="Metadata JSON">{pretty(agent.metadata)}</pre>
              </div>
            </section>
          </div>
        </div>
      )}
      <ConfirmFor
        confirm={deleting}
        title={(a) => `Delete ${a.name}?`}
        confirmLabel="Delete agent"
        busy={remove.isPending}
        onConfirm={() => remove.mutate(etag)}
      >
        <p>
          The agent and its labels are removed from the registry. This cannot be undone; the audit
          log keeps a record.
        </p>
      </ConfirmFor>
    </>
  );
}
