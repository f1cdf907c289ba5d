import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type ReactNode, type SyntheticEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { errorMessage, fieldErrors, isStale } from "../../api/problem";
import { agentKeys, agentQuery, createAgent, updateAgent } from "../../api/agents";
import { AGENT_TYPES, type AgentPublic, type AgentType } from "../../api/types";
import { RequireRole } from "../../auth/guards";
import { Banner, ErrorBanner, Field, Loading, PageHead, Spinner } from "../../components/ui";
import {
  EMPTY_AGENT_FORM,
  errorAt,
  formFromAgent,
  MAX_REPLICAS,
  toAgentCreate,
  toAgentUpdate,
  unplacedErrors,
  validateAgentForm,
  type AgentFormState,
  type FormErrors,
} from "../../lib/agentForm";

const PLACED = [
  "name", "type", "description", "model", "version", "replica_count", "cpu_limit",
  "memory_limit", "labels", "dependencies", "config", "metadata",
];

interface Loaded {
  agent: AgentPublic;
  etag: string | null;
}

export function AgentCreatePage(): ReactNode {
  return (
    <RequireRole role="developer">
      <AgentForm loaded={null} />
    </RequireRole>
  );
}

export function AgentEditPage(): ReactNode {
  const { agentId = "" } = useParams();
  const query = useQuery({ ...agentQuery(agentId), refetchOnWindowFocus: false });
  // The form keeps the agent and ETag it started from; only "Reload" starts it afresh.
  const [generation, setGeneration] = useState(0);
  const reload = async (): Promise<void> => {
    await query.refetch();
    setGeneration((g) => g + 1);
  };
  let body: ReactNode;
  if (query.isPending) body = <Loading />;
  else if (query.isError) body = <ErrorBanner error={query.error} />;
  else
    body = (
      <AgentForm
        key={generation}
        loaded={{ agent: query.data.data, etag: query.data.etag }}
        onReload={() => void reload()}
      />
    );
  return <RequireRole role="developer">{body}</RequireRole>;
}

function AgentForm({
  loaded: initial,
  onReload,
}: {
  loaded: Loaded | null;
  onReload?: () => void;
}): ReactNode {
  const [loaded] = useState(initial);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const editing = loaded !== null;
  const [form, setForm] = useState<AgentFormState>(() =>
    loaded ? formFromAgent(loaded.agent) : EMPTY_AGENT_FORM,
  );
  const [errors, setErrors] = useState<FormErrors>({});
  const [focusRequest, setFocusRequest] = useState(0);
  useEffect(() => {
    if (focusRequest > 0) document.querySelector<HTMLElement>('form [aria-invalid="true"]')?.focus();
  }, [focusRequest]);

  const save = useMutation({
    mutationFn: async () => {
      if (loaded) {
        const body = toAgentUpdate(form, loaded.agent);
        if (Object.keys(body).length === 0) return { data: loaded.agent, etag: loaded.etag };
        return updateAgent(loaded.agent.id, loaded.etag, body);
      }
      return createAgent(toAgentCreate(form));
    },
    onSuccess: async ({ data, etag }) => {
      queryClient.setQueryData(agentQuery(data.id).queryKey, { data, etag });
      await queryClient.invalidateQueries({ queryKey: agentKeys.lists });
      await navigate(`/agents/${data.id}`);
    },
    onError: (error) => {
      setErrors(fieldErrors(error));
      setFocusRequest((n) => n + 1);
    },
  });

  const set = <K extends keyof AgentFormState>(key: K, value: AgentFormState[K]): void => {
    setForm((f) => ({ ...f, [key]: value }));
  };

  const submit = (event: SyntheticEvent): void => {
    event.preventDefault();
    const found = validateAgentForm(form);
    setErrors(found);
    if (Object.keys(found).length > 0) {
      setFocusRequest((n) => n + 1);
      return;
    }
    save.mutate();
  };

  const leftovers = unplacedErrors(errors, PLACED);
  const cancelTo = loaded ? `/agents/${loaded.agent.id}` : "/agents";
  const scalingError = errors["config.auto_scaling"];

  return (
    <>
      <PageHead
        crumbs={
          <>
            <Link to="/agents">Agents</Link>
            {loaded ? (
              <>
                {" / "}
                <Link to={`/agents/${loaded.agent.id}`}>{loaded.agent.name}</Link>
              </>
            ) : null}
          </>
        }
        title={editing ? `Edit ${loaded.agent.name}` : "New agent"}
        subtitle={
          editing
            ? "Change what you need; fields you leave alone keep their value."
            : "Register an agent in the fleet. It starts stopped; deploying it comes later."
        }
      />
      <form className="form" onSubmit={submit} noValidate aria-label={editing ? "Edit agent" : "New agent"}>
        {save.isError ? (
          isStale(save.error) ? (
            <ErrorBanner error={save.error} onReload={onReload} />
          ) : (
            <Banner tone="error">
              {Object.values(errors).includes(errorMessage(save.error))
                ? "Fix the highlighted fields and save again."
                : errorMessage(save.error)}
              {leftovers.length > 0 ? (
                <ul style={{ margin: "6px 0 0", paddingLeft: 18 }}>
                  {leftovers.map((m) => (
                    <li key={m}>{m}</li>
                  ))}
                </ul>
              ) : null}
            </Banner>
          )
        ) : null}
        <section className="card">
          <div className="card-head">
            <h2>Identity</h2>
          </div>
          <div className="card-body form">
            <div className="grid-2">
              <Field
                label="Name"
                error={errors.name}
                hint="Lowercase letters, digits and '-'; unique in the tenant (a DNS label)."
              >
                {(p) => (
                  <input
                    {...p}
                    name="name"
                    className="input mono"
                    autoComplete="off"
                    spellCheck={false}
                    value={form.name}
                    onChange={(e) => set("name", e.target.value)}
                  />
                )}
              </Field>
              <Field label="Type" error={errors.type}>
                {(p) => (
                  <select
                    {...p}
                    name="type"
                    className="select"
                    value={form.type}
                    onChange={(e) => set("type", e.target.value as AgentType)}
                  >
                    {AGENT_TYPES.map((t) => (
                      <option key={t} value={t}>
                        {t}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            </div>
            <Field label="Description" error={errors.description}>
              {(p) => (
                <textarea
                  {...p}
                  name="description"
                  className="textarea"
                  rows={3}
                  value={form.description}
                  onChange={(e) => set("description", e.target.value)}
                />
              )}
            </Field>
            <div className="grid-2">
              <Field label="Model" error={errors.model} hint="Optional, e.g. gpt-4o-mini or llama3.1:8b.">
                {(p) => (
                  <input
                    {...p}
                    name="model"
                    className="input mono"
                    value={form.model}
                    onChange={(e) => set("model", e.target.value)}
                  />
                )}
              </Field>
              <Field label="Version" error={errors.version}>
                {(p) => (
                  <input
                    {...p}
                    name="version"
                    className="input mono"
                    value={form.version}
                    onChange={(e) => set("version", e.target.value)}
                  />
                )}
              </Field>
            </div>
            <Field
              label="Labels"
              error={errorAt(errors, "labels")}
              hint="key=value pairs separated by commas, e.g. team=support, env=prod."
            >
              {(p) => (
                <input
                  {...p}
                  name="labels"
                  className="input mono"
                  spellCheck={false}
                  value={form.labels}
                  onChange={(e) => set("labels", e.target.value)}
                />
              )}
            </Field>
            <Field
              label="Dependencies"
              error={errorAt(errors, "dependencies")}
              hint="Agents or external services this agent calls, separated by commas, e.g. intent-router, openai-api. The overview's call graph shows them."
            >
              {(p) => (
                <input
                  {...p}
                  name="dependencies"
                  className="input mono"
                  spellCheck={false}
                  value={form.dependencies}
                  onChange={(e) => set("dependencies", e.target.value)}
                />
              )}
            </Field>
          </div>
        </section>

        <section className="card">
          <div className="card-head">
            <h2>Resources</h2>
          </div>
          <div className="card-body form">
            <div className="grid-3">
              <Field label="Replicas" error={errors.replica_count} hint={`0 to ${MAX_REPLICAS}.`}>
                {(p) => (
                  <input
                    {...p}
                    name="replica_count"
                    className="input"
                    type="number"
                    inputMode="numeric"
                    min={0}
                    max={MAX_REPLICAS}
                    value={form.replica_count}
                    onChange={(e) => set("replica_count", e.target.value)}
                  />
                )}
              </Field>
              <Field label="CPU limit" error={errors.cpu_limit} hint="e.g. 250m, 1, 2.5">
                {(p) => (
                  <input
                    {...p}
                    name="cpu_limit"
                    className="input mono"
                    value={form.cpu_limit}
                    onChange={(e) => set("cpu_limit", e.target.value)}
                  />
                )}
              </Field>
              <Field label="Memory limit" error={errors.memory_limit} hint="e.g. 256Mi, 1Gi">
                {(p) => (
                  <input
                    {...p}
                    name="memory_limit"
                    className="input mono"
                    value={form.memory_limit}
                    onChange={(e) => set("memory_limit", e.target.value)}
                  />
                )}
              </Field>
            </div>
            <fieldset className="fieldset">
              <legend>Auto-scaling</legend>
              <div className="form">
                <label className="checkbox">
                  <input
                    type="checkbox"
                    name="autoscaling_enabled"
                    checked={form.autoscaling_enabled}
                    onChange={(e) => set("autoscaling_enabled", e.target.checked)}
                  />
                  Scale between a minimum and a maximum number of replicas
                </label>
                {form.autoscaling_enabled ? (
                  <div className="grid-2">
                    <Field label="Minimum replicas" error={errorAt(errors, "config.auto_scaling.min_replicas")}>
                      {(p) => (
                        <input
                          {...p}
                          name="min_replicas"
                          className="input"
                          type="number"
                          min={0}
                          max={MAX_REPLICAS}
                          value={form.min_replicas}
                          onChange={(e) => set("min_replicas", e.target.value)}
                        />
                      )}
                    </Field>
                    <Field label="Maximum replicas" error={errorAt(errors, "config.auto_scaling.max_replicas")}>
                      {(p) => (
                        <input
                          {...p}
                          name="max_replicas"
                          className="input"
                          type="number"
                          min={0}
                          max={MAX_REPLICAS}
                          value={form.max_replicas}
                          onChange={(e) => set("max_replicas", e.target.value)}
                        />
                      )}
                    </Field>
                  </div>
                ) : null}
                {scalingError ? <div className="field"><div className="error">{scalingError}</div></div> : null}
              </div>
            </fieldset>
          </div>
        </section>

        <section className="card">
          <div className="card-head">
            <h2>Configuration</h2>
          </div>
          <div className="card-body grid-2">
            <Field label="Config (JSON)" error={errors.config} hint="Runtime settings passed to the agent.">
              {(p) => (
                <textarea
                  {...p}
                  name="config"
                  className="textarea code"
                  rows={8}
                  spellCheck={false}
                  value={form.config}
                  onChange={(e) => set("config", e.target.value)}
                />
              )}
            </Field>
            <Field label="Metadata (JSON)" error={errorAt(errors, "metadata")} hint="Anything you want to keep beside the agent.">
              {(p) => (
                <textarea
                  {...p}
                  name="metadata"
                  className="textarea code"
                  rows={8}
                  spellCheck={false}
                  value={form.metadata}
                  onChange={(e) => set("metadata", e.target.value)}
                />
              )}
            </Field>
          </div>
        </section>

        <div className="form-actions">
          <Link className="btn" to={cancelTo}>
            Cancel
          </Link>
          <button type="submit" className="btn btn-primary" disabled={save.isPending}>
            {save.isPending ? <Spinner label="Saving" /> : null}
            {editing ? "Save changes" : "Create agent"}
          </button>
        </div>
      </form>
    </>
  );
}
