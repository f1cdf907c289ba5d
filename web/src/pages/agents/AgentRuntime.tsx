/** The agent page's runtime cards: replicas, recent output and autoscaler decisions. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";
import {
  type AutoscalerDecision,
  type DecisionPage,
  decisionsQuery,
  fleetKeys,
  outputQuery,
  replicasQuery,
  type ReplicaPublic,
  withDecision,
} from "../../api/fleet";
import type { AgentPublic } from "../../api/types";
import { CardError } from "../../components/ResourceSection";
import { ErrorBanner, Spinner, Time } from "../../components/ui";
import { useChannel, useLiveConnection } from "../../lib/wsHooks";

/** How often the output is read again while replicas run (it has no channel of its own). */
const OUTPUT_POLL_MS = 2000;
/** How often the decisions are read again while the live connection is down. */
const DECISIONS_POLL_MS = 15_000;

function exitText(replica: ReplicaPublic): string {
  const exit = replica.last_exit;
  if (!exit) return "—";
  const code = exit.code === null ? "?" : exit.code < 0 ? `signal ${-exit.code}` : `code ${exit.code}`;
  return exit.reason ? `${code} (${exit.reason})` : code;
}

export function ReplicasCard({ agent }: { agent: AgentPublic }): ReactNode {
  // Read again while the replicas are not what the agent wants (starting, scaling, stopping):
  // the channel says when the status changes, not when each replica comes or goes.
  const query = useQuery({
    ...replicasQuery(agent.id),
    refetchInterval: (q) => {
      const rows = q.state.data?.items ?? [];
      const health = agent.health?.replicas;
      const settled =
        health !== undefined &&
        rows.length === health.desired &&
        rows.every((r) => r.ready) &&
        health.ready === health.desired;
      return settled ? false : OUTPUT_POLL_MS;
    },
  });
  const replicas = query.data?.items ?? [];
  return (
    <section className="card" aria-label="Replicas">
      <div className="card-head">
        <h2>Replicas</h2>
        {query.isFetching ? <Spinner label="Refreshing" /> : null}
      </div>
      {query.isError ? (
        <CardError error={query.error} />
      ) : replicas.length === 0 ? (
        <div className="card-body">
          <span className="faint">
            {query.isPending
              ? "Loading…"
              : agent.metadata.source === "demo"
                ? "Simulated by the demo: no process runs for this agent; its metrics and logs are generated. Start runs it for real."
                : "No replicas run."}
          </span>
        </div>
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label="Replica list">
            <thead>
              <tr>
                <th>Replica</th>
                <th>{replicas.some((r) => r.pod) ? "Pod" : "PID"}</th>
                <th>Port</th>
                <th>Version</th>
                <th>Started</th>
                <th>Restarts</th>
                <th>Last exit</th>
                <th>Health</th>
              </tr>
            </thead>
            <tbody>
              {replicas.map((r) => (
                <tr key={r.name} data-replica={r.name}>
                  <td className="mono small">{r.name}</td>
                  <td className="mono">{r.pod ?? r.pid ?? "—"}</td>
                  <td className="mono">{r.port ?? "—"}</td>
                  <td className="mono">{r.version}</td>
                  <td>
                    <Time value={r.started_at} />
                  </td>
                  <td>{r.restarts}</td>
                  <td className="small">{exitText(r)}</td>
                  <td>
                    <span
                      className={`badge badge-${r.health === "healthy" ? "ok" : r.health === "starting" ? "muted" : "warn"}`}
                      title={r.message ?? r.phase}
                    >
                      {r.health}
                    </span>{" "}
                    <span className="small muted">{r.phase}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function OutputCard({ agent }: { agent: AgentPublic }): ReactNode {
  const running = agent.status !== "stopped";
  const query = useQuery({
    ...outputQuery(agent.id),
    refetchInterval: running ? OUTPUT_POLL_MS : false,
  });
  const lines = query.data?.items ?? [];
  return (
    <section className="card" aria-label="Recent output">
      <div className="card-head">
        <h2>Recent output</h2>
        <span className="small muted">{running ? "live" : "stopped"}</span>
      </div>
      <div className="card-body">
        {query.isError ? (
          <ErrorBanner error={query.error} />
        ) : lines.length === 0 ? (
          <span className="faint">{query.isPending ? "Loading…" : "No output yet."}</span>
        ) : (
          <pre className="output" aria-label="Output lines">
            {lines.map((l, i) => (
              <div key={`${l.at}-${i}`} className={l.stream === "stderr" ? "stderr" : undefined}>
                <span className="replica">{l.replica.slice(-5)} </span>
                {l.line}
              </div>
            ))}
          </pre>
        )}
      </div>
    </section>
  );
}

export function DecisionsCard({ agent }: { agent: AgentPublic }): ReactNode {
  const client = useQueryClient();
  const live = useLiveConnection() === "live";
  // Every decision (a repeat too) comes on the agent's channel; read again only while the
  // connection is down.
  const query = useQuery({ ...decisionsQuery(agent.id), refetchInterval: live ? false : DECISIONS_POLL_MS });
  useChannel(`agent:${agent.id}`, {
    onEvent: (data) => {
      const message = data as { action?: string; decision?: AutoscalerDecision };
      if (message.action !== "autoscaler" || !message.decision) return;
      const decision = message.decision;
      const key = fleetKeys.decisions(agent.id);
      if (client.getQueryData(key) === undefined) {
        void client.invalidateQueries({ queryKey: key });
        return;
      }
      client.setQueryData<DecisionPage>(key, (page) => (page ? withDecision(page, decision) : page));
    },
  });
  const decisions = query.data?.items ?? [];
  return (
    <section className="card" aria-label="Autoscaler decisions">
      <div className="card-head">
        <h2>Autoscaler decisions</h2>
      </div>
      {query.isError ? (
        <CardError error={query.error} />
      ) : decisions.length === 0 ? (
        <div className="card-body">
          <span className="faint">
            {query.isPending ? "Loading…" : "None yet: the autoscaler decides only with config.auto_scaling.enabled."}
          </span>
        </div>
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label="Decision list">
            <thead>
              <tr>
                <th>When</th>
                <th>Outcome</th>
                <th>CPU (10 min)</th>
                <th>Replicas</th>
                <th>Bounds</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {decisions.map((d) => (
                <tr key={d.id} data-decision={d.id}>
                  <td>
                    <Time value={d.last_at} />
                    {d.repeats > 1 ? <span className="small muted"> ×{d.repeats}</span> : null}
                  </td>
                  <td>
                    <span className="badge badge-muted">{d.outcome}</span>
                  </td>
                  <td className="mono">{d.cpu_percent === null ? "—" : `${d.cpu_percent.toFixed(1)} %`}</td>
                  <td className="mono">
                    {d.replicas === d.target_replicas ? d.replicas : `${d.replicas} → ${d.target_replicas}`}
                  </td>
                  <td className="mono">
                    {d.min_replicas}–{d.max_replicas}
                  </td>
                  <td className="small">{d.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
