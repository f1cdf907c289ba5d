import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type SyntheticEvent, type ReactNode } from "react";
import { fieldErrors } from "../../api/problem";
import { tenantQuery, updateTenant } from "../../api/identity";
import type { TenantPublic } from "../../api/types";
import { RequireRole } from "../../auth/guards";
import { useAuth } from "../../auth/session";
import { FormActions } from "../../components/FormActions";
import { QueryStates } from "../../components/QueryStates";
import { ResourceSection } from "../../components/ResourceSection";
import { Banner, ErrorBanner, Field } from "../../components/ui";

const MAX_QUOTA = 1000;
const MAX_RETENTION_DAYS = 3650;

const optionalNumber = (text: string): number | null => (text.trim() ? Number(text) : null);

function TenantForm({ tenant }: { tenant: TenantPublic }): ReactNode {
  const queryClient = useQueryClient();
  const { reloadIdentity } = useAuth();
  const [name, setName] = useState(tenant.name);
  const [quota, setQuota] = useState(tenant.agent_quota_per_user === null ? "" : String(tenant.agent_quota_per_user));
  const [retention, setRetention] = useState(tenant.retention_days === null ? "" : String(tenant.retention_days));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: () =>
      updateTenant({
        name: name.trim(),
        agent_quota_per_user: optionalNumber(quota),
        retention_days: optionalNumber(retention),
      }),
    onSuccess: async (data) => {
      queryClient.setQueryData(tenantQuery().queryKey, data);
      await reloadIdentity(); // the tenant's name shows in the top bar
    },
    onError: (error) => setErrors(fieldErrors(error)),
  });
  const submit = (event: SyntheticEvent): void => {
    event.preventDefault();
    const found: Record<string, string> = {};
    if (!name.trim()) found.name = "Give the tenant a name.";
    else if (name.trim().length > 200) found.name = "At most 200 characters.";
    if (quota.trim() && !(/^\d+$/.test(quota.trim()) && Number(quota) <= MAX_QUOTA))
      found.agent_quota_per_user = `A whole number from 0 to ${MAX_QUOTA}, or empty for the server default.`;
    const days = retention.trim();
    if (days && !(/^\d+$/.test(days) && Number(days) >= 1 && Number(days) <= MAX_RETENTION_DAYS))
      found.retention_days = `A whole number of days from 1 to ${MAX_RETENTION_DAYS}, or empty for the server default.`;
    setErrors(found);
    if (Object.keys(found).length === 0) save.mutate();
  };
  return (
    <form className="card-body form" onSubmit={submit} noValidate aria-label="Tenant settings">
      {save.isSuccess ? <Banner tone="success">Saved.</Banner> : null}
      {save.isError ? <ErrorBanner error={save.error} /> : null}
      <dl className="props">
        <dt>Slug</dt>
        <dd className="mono">{tenant.slug}</dd>
        <dt>ID</dt>
        <dd className="mono small">{tenant.id}</dd>
      </dl>
      <div className="grid-2">
        <Field label="Name" error={errors.name}>
          {(p) => <input {...p} name="name" className="input" value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field
          label="Agent quota per user"
          error={errors.agent_quota_per_user}
          hint={`How many agents each user may own. Empty: the server default. Now in force: ${tenant.effective_agent_quota}.`}
        >
          {(p) => (
            <input {...p} name="agent_quota_per_user" className="input" type="number" min={0} max={MAX_QUOTA} placeholder="server default" value={quota} onChange={(e) => setQuota(e.target.value)} />
          )}
        </Field>
        <Field
          label="Metrics retention (days)"
          error={errors.retention_days}
          hint={`How long metric samples and their rollups are kept; older ones are deleted and refused at ingest. Empty: the server default. Now in force: ${tenant.effective_retention_days} days.`}
        >
          {(p) => (
            <input {...p} name="retention_days" className="input" type="number" min={1} max={MAX_RETENTION_DAYS} placeholder="server default" value={retention} onChange={(e) => setRetention(e.target.value)} />
          )}
        </Field>
      </div>
      <FormActions submit="Save" pending={save.isPending} busyLabel="Saving" />
    </form>
  );
}

function Tenant(): ReactNode {
  const query = useQuery(tenantQuery());
  return (
    <ResourceSection title="Tenant">
      <QueryStates query={query} isEmpty={false}>
        {query.data ? <TenantForm key={query.data.id} tenant={query.data} /> : null}
      </QueryStates>
    </ResourceSection>
  );
}

export function TenantPage(): ReactNode {
  return (
    <RequireRole role="admin">
      <Tenant />
    </RequireRole>
  );
}
