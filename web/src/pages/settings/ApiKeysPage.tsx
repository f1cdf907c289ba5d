import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type SyntheticEvent, type ReactNode } from "react";
import { fieldErrors } from "../../api/problem";
import { apiKeysQuery, createApiKey, identityKeys, revokeApiKey } from "../../api/identity";
import { ROLES, type ApiKeyCreated, type ApiKeyPublic, type Role } from "../../api/types";
import { RequireRole } from "../../auth/guards";
import { FormActions } from "../../components/FormActions";
import { PagedTable } from "../../components/PagedTable";
import { CardError, CreateToggle, ResourceSection } from "../../components/ResourceSection";
import {
  Banner,
  ConfirmFor,
  CopyButton,
  EmptyState,
  ErrorBanner,
  Field,
  RoleBadge,
  Time,
} from "../../components/ui";
import { useConfirm, useConfirmedMutation } from "../../lib/useConfirm";

function keyState(key: ApiKeyPublic, now = Date.now()): ReactNode {
  if (key.revoked_at) return <span className="badge badge-muted">revoked</span>;
  if (key.expires_at && Date.parse(key.expires_at) <= now) return <span className="badge badge-warn">expired</span>;
  return <span className="badge badge-ok">active</span>;
}

function CreateKey({ onCreated }: { onCreated: (key: ApiKeyCreated) => void }): ReactNode {
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("developer");
  const [days, setDays] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const create = useMutation({
    mutationFn: () =>
      createApiKey({ name: name.trim(), role, expires_in_days: days.trim() ? Number(days) : null }),
    onSuccess: async (key) => {
      await queryClient.invalidateQueries({ queryKey: identityKeys.apiKeys });
      setName("");
      setDays("");
      onCreated(key);
    },
    onError: (error) => setErrors(fieldErrors(error)),
  });
  const submit = (event: SyntheticEvent): void => {
    event.preventDefault();
    const found: Record<string, string> = {};
    if (!name.trim()) found.name = "Say what the key is for.";
    else if (name.trim().length > 200) found.name = "At most 200 characters.";
    if (days.trim() && !(/^\d+$/.test(days.trim()) && Number(days) >= 1 && Number(days) <= 3650))
      found.expires_in_days = "A whole number of days from 1 to 3650, or empty for no expiry.";
    setErrors(found);
    if (Object.keys(found).length === 0) create.mutate();
  };
  return (
    <form className="card-body form" onSubmit={submit} noValidate aria-label="New API key" style={{ borderBottom: "1px solid var(--border)" }}>
      {create.isError ? <ErrorBanner error={create.error} /> : null}
      <div className="grid-3">
        <Field label="Name" error={errors.name} hint="e.g. ci-deployer, telemetry-agent-eu">
          {(p) => <input {...p} name="name" className="input" autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Role" error={errors.role}>
          {(p) => (
            <select {...p} name="role" className="select" value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Expires after (days)" error={errors.expires_in_days} hint="Empty: never expires.">
          {(p) => <input {...p} name="expires_in_days" className="input" type="number" min={1} max={3650} value={days} onChange={(e) => setDays(e.target.value)} />}
        </Field>
      </div>
      <FormActions submit="Create key" pending={create.isPending} busyLabel="Creating" />
    </form>
  );
}

function ApiKeys(): ReactNode {
  const query = useInfiniteQuery(apiKeysQuery());
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const revoking = useConfirm<ApiKeyPublic>();
  const keys = query.data?.pages.flatMap((p) => p.items) ?? [];

  const revoke = useConfirmedMutation(revoking, revokeApiKey, identityKeys.apiKeys);

  return (
    <ResourceSection title="API keys" actions={<CreateToggle open={creating} label="New API key" onToggle={() => setCreating((v) => !v)} />}>
      {creating ? (
        <CreateKey
          onCreated={(key) => {
            setCreating(false);
            setCreated(key);
          }}
        />
      ) : null}
      {created ? (
        <div className="card-body stack" style={{ borderBottom: "1px solid var(--border)" }}>
          <Banner tone="success" action={<button type="button" className="btn btn-sm" onClick={() => setCreated(null)}>Done</button>}>
            <strong>Key {created.name} created.</strong> Copy it now: it is shown only this once.
          </Banner>
          <div className="secret">
            <code data-testid="new-api-key">{created.key}</code>
            <CopyButton text={created.key} />
          </div>
          <div className="small muted">
            Send it in an <code>Authorization: Bearer &lt;key&gt;</code> or{" "}
            <code>X-API-Key: &lt;key&gt;</code> header.
          </div>
        </div>
      ) : null}
      <CardError error={revoke.error} />
      <PagedTable
        query={query}
        count={keys.length}
        minHeight={160}
        label="API keys"
        head={
          <>
            <th>Name</th>
            <th>Prefix</th>
            <th>Role</th>
            <th>Status</th>
            <th>Created</th>
            <th>Last used</th>
            <th>Expires</th>
            <th />
          </>
        }
        empty={
          <EmptyState icon="key" title="No API keys yet">
            <p>API keys let machines — agents, CI jobs, scripts — call agentdeck with a role of their own.</p>
          </EmptyState>
        }
      >
        {keys.map((k) => (
          <tr key={k.id} data-key={k.name}>
            <td>
              <strong>{k.name}</strong>
            </td>
            <td className="mono small">{k.prefix}…</td>
            <td>
              <RoleBadge role={k.role} />
            </td>
            <td>{keyState(k)}</td>
            <td>
              <Time value={k.created_at} />
            </td>
            <td>
              <Time value={k.last_used_at} />
            </td>
            <td>{k.expires_at ? <Time value={k.expires_at} /> : <span className="faint">never</span>}</td>
            <td className="actions">
              {k.revoked_at ? null : (
                <button type="button" className="btn btn-sm btn-danger-ghost" onClick={() => revoking.ask(k)}>
                  Revoke
                </button>
              )}
            </td>
          </tr>
        ))}
      </PagedTable>
      <ConfirmFor
        confirm={revoking}
        title={(k) => `Revoke ${k.name}?`}
        confirmLabel="Revoke key"
        busy={revoke.isPending}
        onConfirm={(k) => revoke.mutate(k.id)}
      >
        <p>Anything using this key is refused from now on. This cannot be undone.</p>
      </ConfirmFor>
    </ResourceSection>
  );
}

export function ApiKeysPage(): ReactNode {
  return (
    <RequireRole role="admin">
      <ApiKeys />
    </RequireRole>
  );
}
