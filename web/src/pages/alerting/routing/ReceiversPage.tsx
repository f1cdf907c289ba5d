/** Receivers: named sets of notification channels that routes and escalation levels notify. */
import { FieldErrorList } from "./FieldErrorList";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode, type SyntheticEvent } from "react";
import { fieldErrors } from "../../../api/problem";
import { useCan } from "../../../auth/session";
import { QueryStates } from "../../../components/QueryStates";
import { CardError, CreateToggle, ResourceSection } from "../../../components/ResourceSection";
import { EmptyState, ErrorBanner, Field } from "../../../components/ui";
import { createReceiver, deleteReceiver, receiversQuery, routingKeys, type Receiver } from "../../../api/routing";
import { DeleteButton, DeleteDialog } from "./DeleteDialog";

function ids(text: string): string[] {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

function CreateReceiver({ onDone }: { onDone: () => void }): ReactNode {
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [channels, setChannels] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const create = useMutation({
    mutationFn: () =>
      createReceiver({ name: name.trim(), description: "", channel_ids: ids(channels) }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: routingKeys.receivers });
      onDone();
    },
    onError: (error) => setErrors(fieldErrors(error)),
  });
  const submit = (event: SyntheticEvent): void => {
    event.preventDefault();
    if (!name.trim()) return setErrors({ name: "Name the receiver." });
    create.mutate();
  };
  return (
    <form className="card-body form" onSubmit={submit} aria-label="New receiver" noValidate>
      {create.isError ? <ErrorBanner error={create.error} /> : null}
      {create.isError ? <FieldErrorList error={create.error} /> : null}
      <div className="grid-2">
        <Field label="Name" error={errors.name} hint="e.g. db-oncall">
          {(p) => <input {...p} className="input" value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Channel ids" error={errors.channel_ids} hint="Notification channel ids, comma-separated.">
          {(p) => <input {...p} className="input mono" value={channels} onChange={(e) => setChannels(e.target.value)} />}
        </Field>
      </div>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          Create receiver
        </button>
      </div>
    </form>
  );
}

export function ReceiversPage(): ReactNode {
  const isAdmin = useCan("admin");
  const queryClient = useQueryClient();
  const query = useQuery(receiversQuery());
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Receiver | null>(null);
  const remove = useMutation({
    mutationFn: (id: string) =>
      deleteReceiver(id),
    onSuccess: async () => {
      setDeleting(null);
      await queryClient.invalidateQueries({ queryKey: routingKeys.receivers });
    },
    onError: () => setDeleting(null),
  });
  const rows = query.data?.items ?? [];
  return (
    <ResourceSection
      title="Receivers"
      actions={isAdmin ? <CreateToggle open={creating} label="New receiver" onToggle={() => setCreating((v) => !v)} /> : undefined}
    >
      {creating ? <CreateReceiver onDone={() => setCreating(false)} /> : null}
      <CardError error={remove.error} />
      <QueryStates
        query={query}
        isEmpty={rows.length === 0}
        empty={
          <EmptyState icon="users" title="No receivers">
            <p>Routes and escalation levels notify receivers; each receiver is a set of channels.</p>
          </EmptyState>
        }
      >
        <div className="table-wrap">
          <table className="table" aria-label="Receivers">
            <thead>
              <tr>
                <th>Name</th>
                <th>Id</th>
                <th>Channels</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id}>
                  <td>
                    <strong>{r.name}</strong>
                  </td>
                  <td className="mono small">{r.id}</td>
                  <td className="small">{r.channel_ids.length} channel{r.channel_ids.length === 1 ? "" : "s"}</td>
                  <td className="actions">
                    <DeleteButton shown={isAdmin} onClick={() => setDeleting(r)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </QueryStates>
      <DeleteDialog item={deleting} busy={remove.isPending} onDelete={(id) => remove.mutate(id)} onCancel={() => setDeleting(null)}>
        <p>Refused while a route or an escalation policy still names it.</p>
      </DeleteDialog>
    </ResourceSection>
  );
}
