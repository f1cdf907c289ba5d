import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type ReactNode, type SyntheticEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { errorMessage, fieldErrors, isStale } from "../../api/problem";
import { agentKeys, agentQuery, createAgent, updateAgent } from "../../api/agents";
import type { AgentPublic } from "../../api/types";
import { RequireRole } from "../../auth/guards";
import { Banner, ErrorBanner, Loading, PageHead, Spinner } from "../../components/ui";
import {
  EMPTY_AGENT_FORM,
  formFromAgent,
  toAgentCreate,
  toAgentUpdate,
  unplacedErrors,
  validateAgentForm,
  type AgentFormState,
  type FormErrors,
} from "../../lib/agentForm";
import { ConfigurationSection, IdentitySection, ResourcesSection } from "./AgentFormSections";

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
        <IdentitySection form={form} errors={errors} set={set} />
        <ResourcesSection form={form} errors={errors} set={set} />
        <ConfigurationSection form={form} errors={errors} set={set} />

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
