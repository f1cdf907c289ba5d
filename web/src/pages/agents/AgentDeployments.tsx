/** The agent page's deployments: the deploy dialog and the history with diff and rollback. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Fragment, useState, type ReactNode } from "react";
import { Link } from "react-router";
import { agentKeys } from "../../api/agents";
import {
  agentDeploymentsQuery,
  createDeployment,
  fleetKeys,
  rollbackDeployment,
  type DeploymentCreate,
} from "../../api/fleet";
import { fieldErrors } from "../../api/problem";
import type { AgentPublic } from "../../api/types";
import { Modal } from "../../components/Modal";
import { CardError } from "../../components/ResourceSection";
import { ErrorBanner, Field, Spinner } from "../../components/ui";
import { useChannel } from "../../lib/wsHooks";
import { DeploymentCells, DeploymentDiffView } from "../deployments/parts";
import { deploymentBody, initialForm, TEMPLATES, type DeployForm } from "../../lib/fleet";

function DeployDialog({ agent, open, onClose }: { agent: AgentPublic; open: boolean; onClose: () => void }): ReactNode {
  const client = useQueryClient();
  const [form, setForm] = useState<DeployForm>(() => initialForm(agent));
  const [localError, setLocalError] = useState<string | null>(null);
  const deploy = useMutation({
    mutationFn: (body: DeploymentCreate) => createDeployment(agent.id, body),
    onSuccess: async () => {
      await Promise.all([
        client.invalidateQueries({ queryKey: fleetKeys.deployments }),
        client.invalidateQueries({ queryKey: fleetKeys.agent(agent.id) }),
        client.invalidateQueries({ queryKey: agentKeys.all }),
      ]);
      onClose();
    },
  });
  const errors = fieldErrors(deploy.error);
  const set = (patch: Partial<DeployForm>): void => setForm((f) => ({ ...f, ...patch }));
  const submit = (): void => {
    const built = deploymentBody(form);
    if ("error" in built) {
      setLocalError(built.error);
      return;
    }
    setLocalError(null);
    deploy.mutate(built.body);
  };
  return (
    <Modal
      open={open}
      className="dialog-wide"
      labelledBy="deploy-title"
      onOpen={() => {
        setForm(initialForm(agent));
        setLocalError(null);
        deploy.reset();
      }}
      onClose={onClose}
    >
      <form
        aria-label="Deploy"
        onSubmit={(event) => {
          event.preventDefault();
          submit();
        }}
      >
        <div className="dialog-body">
          <h2 id="deploy-title">Deploy {agent.name}</h2>
          <p className="muted small">
            Now running version <span className="mono">{agent.version}</span>. Runtime fields left as they are keep the
            agent&apos;s current values.
          </p>
          {localError ? <ErrorBanner error={new Error(localError)} /> : null}
          {deploy.isError ? <ErrorBanner error={deploy.error} /> : null}
          <div className="form-grid">
            <Field label="Version" error={errors["version"]}>
              {(p) => (
                <input {...p} className="input mono" required value={form.version} placeholder="1.4.0" onChange={(e) => set({ version: e.target.value })} />
              )}
            </Field>
            <Field label="Strategy" hint={form.strategy === "rolling" ? "One new replica ready before one old stops." : "All old replicas stop, then the new start."}>
              {(p) => (
                <select {...p} className="input" value={form.strategy} onChange={(e) => set({ strategy: e.target.value as DeployForm["strategy"] })}>
                  <option value="rolling">rolling</option>
                  <option value="recreate">recreate</option>
                </select>
              )}
            </Field>
            <Field label="Replicas" error={errors["replicas"]}>
              {(p) => (
                <input {...p} className="input mono" type="number" min={0} max={20} value={form.replicas} onChange={(e) => set({ replicas: e.target.value })} />
              )}
            </Field>
            <Field label="Template">
              {(p) => (
                <select {...p} className="input" value={form.template} onChange={(e) => set({ template: e.target.value as DeployForm["template"] })}>
                  {TEMPLATES.map((t) => (
                    <option key={t} value={t}>
                      {t || "none (command)"}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <div className="span-2">
              <Field label="Command" error={errors["spec.command"]}>
                {(p) => <input {...p} className="input mono" value={form.command} onChange={(e) => set({ command: e.target.value })} />}
              </Field>
            </div>
            <Field label="Arguments" hint="One per line.">
              {(p) => <textarea {...p} className="input mono" rows={3} value={form.args} onChange={(e) => set({ args: e.target.value })} />}
            </Field>
            <Field label="Environment" hint="KEY=value, one per line.">
              {(p) => <textarea {...p} className="input mono" rows={3} value={form.env} onChange={(e) => set({ env: e.target.value })} />}
            </Field>
            <Field label="Port" hint="Empty: one per replica." error={errors["spec.port"]}>
              {(p) => <input {...p} className="input mono" type="number" value={form.port} onChange={(e) => set({ port: e.target.value })} />}
            </Field>
            <Field label="Health path">
              {(p) => <input {...p} className="input mono" value={form.health_path} placeholder="/healthz" onChange={(e) => set({ health_path: e.target.value })} />}
            </Field>
            <div className="span-2">
              <Field label="Description">
                {(p) => <input {...p} className="input" value={form.description} onChange={(e) => set({ description: e.target.value })} />}
              </Field>
            </div>
          </div>
        </div>
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={onClose} disabled={deploy.isPending}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={deploy.isPending || !form.version.trim()}>
            {deploy.isPending ? <Spinner label="Working" /> : null}
            Deploy
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function DeploymentsCard({ agent, canEdit }: { agent: AgentPublic; canEdit: boolean }): ReactNode {
  const client = useQueryClient();
  const query = useQuery(agentDeploymentsQuery(agent.id));
  const [deploying, setDeploying] = useState(false);
  const [open, setOpen] = useState<string | null>(null);
  useChannel("deployments", {
    onEvent: (data) => {
      const d = (data as { deployment?: { agent_id?: string } }).deployment;
      if (d?.agent_id !== agent.id) return;
      void client.invalidateQueries({ queryKey: fleetKeys.agentDeployments(agent.id) });
      void client.invalidateQueries({ queryKey: agentKeys.detail(agent.id) });
    },
  });
  const rollback = useMutation({
    mutationFn: (id: string) => rollbackDeployment(id),
    onSettled: async () => {
      await Promise.all([
        client.invalidateQueries({ queryKey: fleetKeys.deployments }),
        client.invalidateQueries({ queryKey: fleetKeys.agent(agent.id) }),
        client.invalidateQueries({ queryKey: agentKeys.all }),
      ]);
    },
  });
  const items = query.data?.items ?? [];
  return (
    <section className="card" aria-label="Deployments">
      <div className="card-head">
        <h2>Deployments</h2>
        <Link className="small" to={`/deployments?agent_id=${agent.id}`}>
          All of this agent&apos;s
        </Link>
        {canEdit ? (
          <button type="button" className="btn btn-primary btn-sm" onClick={() => setDeploying(true)}>
            Deploy
          </button>
        ) : null}
      </div>
      {rollback.isError ? <CardError error={rollback.error} /> : null}
      {query.isError ? (
        <CardError error={query.error} />
      ) : items.length === 0 ? (
        <div className="card-body">
          <span className="faint">{query.isPending ? "Loading…" : "Never deployed."}</span>
        </div>
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label="Deployment history">
            <thead>
              <tr>
                <th>Version</th>
                <th>Status</th>
                <th>Progress</th>
                <th>Strategy</th>
                <th>Triggered by</th>
                <th>Started</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((d, index) => (
                <Fragment key={d.id}>
                  <tr data-version={d.version}>
                    <td>
                      <Link className="primary-link mono" to={`/deployments/${d.id}`}>
                        {d.version}
                      </Link>
                      {d.rollback_of ? <div className="small muted">rollback</div> : null}
                    </td>
                    <DeploymentCells deployment={d} />
                    <td className="actions">
                      <button
                        type="button"
                        className="btn btn-sm"
                        aria-expanded={open === d.id}
                        onClick={() => setOpen(open === d.id ? null : d.id)}
                      >
                        Diff
                      </button>{" "}
                      {canEdit && index === 0 && (d.status === "completed" || d.status === "in_progress") ? (
                        <button
                          type="button"
                          className="btn btn-sm btn-danger-ghost"
                          disabled={rollback.isPending}
                          onClick={() => rollback.mutate(d.id)}
                        >
                          Roll back
                        </button>
                      ) : null}
                    </td>
                  </tr>
                  {open === d.id ? (
                    <tr>
                      <td colSpan={7}>
                        <DeploymentDiffView id={d.id} />
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {canEdit ? <DeployDialog agent={agent} open={deploying} onClose={() => setDeploying(false)} /> : null}
    </section>
  );
}
