/** Receivers: named sets of notification channels that routes and escalation levels notify.
 * Channels are picked by name (no ids to copy); a receiver is edited in place. */
import { CardForm } from "./CardForm";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode, type SyntheticEvent } from "react";
import { Link } from "react-router";
import { fieldErrors } from "../../../api/problem";
import { channelsQuery, type Channel } from "../../../api/notify";
import { useCan } from "../../../auth/session";
import { Icon } from "../../../components/Icon";
import { QueryTable } from "../../../components/PagedTable";
import { CardError, CreateToggle, ResourceSection } from "../../../components/ResourceSection";
import { EmptyState, Field } from "../../../components/ui";
import {
  createReceiver,
  deleteReceiver,
  receiversQuery,
  routingKeys,
  updateReceiver,
  type Receiver,
} from "../../../api/routing";
import { DeleteButton, DeleteDialog } from "./DeleteDialog";
import { useConfirm, useConfirmedMutation } from "../../../lib/useConfirm";
import "./routing.css";

/** Checkboxes of the tenant's channels, by name and kind. */
function ChannelPicker({
  channels,
  value,
  onChange,
  error,
}: {
  channels: Channel[];
  value: string[];
  onChange: (ids: string[]) => void;
  error?: string | undefined;
}): ReactNode {
  return (
    <fieldset className="matcher-editor" aria-label="Channels" aria-invalid={Boolean(error)}>
      <legend>Channels</legend>
      {channels.length === 0 ? (
        <p className="small muted">
          No notification channels yet: <Link to="/alerting/channels">add one</Link> first.
        </p>
      ) : (
        <div className="channel-picks">
          {channels.map((c) => (
            <label key={c.id} className="check-row">
              <input
                type="checkbox"
                checked={value.includes(c.id)}
                onChange={(e) => onChange(e.target.checked ? [...value, c.id] : value.filter((id) => id !== c.id))}
              />
              <span>{c.name}</span>
              <span className="badge badge-muted">{c.kind}</span>
              {!c.enabled ? <span className="small faint">disabled</span> : null}
            </label>
          ))}
        </div>
      )}
      {error ? <div className="error">{error}</div> : null}
    </fieldset>
  );
}

function ReceiverForm({
  receiver,
  channels,
  onDone,
}: {
  receiver: Receiver | null;
  channels: Channel[];
  onDone: () => void;
}): ReactNode {
  const queryClient = useQueryClient();
  const [name, setName] = useState(receiver?.name ?? "");
  const [description, setDescription] = useState(receiver?.description ?? "");
  const [picked, setPicked] = useState<string[]>(receiver?.channel_ids ?? []);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: () => {
      const body = { name: name.trim(), description: description.trim(), channel_ids: picked };
      return receiver ? updateReceiver(receiver.id, body) : createReceiver(body);
    },
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: routingKeys.receivers });
      onDone();
    },
    onError: (error) => setErrors(fieldErrors(error)),
  });
  const submit = (event: SyntheticEvent): void => {
    event.preventDefault();
    const found: Record<string, string> = {};
    if (!name.trim()) found["name"] = "Name the receiver.";
    if (picked.length === 0) found["channel_ids"] = "Pick at least one channel: a receiver must notify somewhere.";
    setErrors(found);
    if (Object.keys(found).length === 0) save.mutate();
  };
  return (
    <CardForm
      label={receiver ? `Edit receiver ${receiver.name}` : "New receiver"}
      onSubmit={submit}
      save={save}
      submit={receiver ? "Save receiver" : "Create receiver"}
      onCancel={receiver ? onDone : undefined}
    >
      <div className="grid-2">
        <Field label="Name" error={errors["name"]} hint="e.g. db-oncall">
          {(p) => <input {...p} className="input" value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Description" error={errors["description"]}>
          {(p) => <input {...p} className="input" value={description} onChange={(e) => setDescription(e.target.value)} />}
        </Field>
      </div>
      <ChannelPicker channels={channels} value={picked} onChange={setPicked} error={errors["channel_ids"]} />
    </CardForm>
  );
}

export function ReceiversPage(): ReactNode {
  const isAdmin = useCan("admin");
  const query = useQuery(receiversQuery());
  // channels are an admin's to see: other roles see the receiver's channel ids only
  const channels = useQuery({ ...channelsQuery(), enabled: isAdmin }).data?.items ?? [];
  const channelById = new Map(channels.map((c) => [c.id, c]));
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const deleting = useConfirm<Receiver>();
  const remove = useConfirmedMutation(deleting, deleteReceiver, routingKeys.receivers);
  const rows = query.data?.items ?? [];
  const edited = rows.find((r) => r.id === editing) ?? null;
  return (
    <ResourceSection
      title="Receivers"
      actions={isAdmin ? <CreateToggle open={creating} label="New receiver" onToggle={() => setCreating((v) => !v)} /> : undefined}
    >
      {creating ? <ReceiverForm receiver={null} channels={channels} onDone={() => setCreating(false)} /> : null}
      {edited ? <ReceiverForm key={edited.id} receiver={edited} channels={channels} onDone={() => setEditing(null)} /> : null}
      <CardError error={remove.error} />
      <QueryTable
        query={query}
        count={rows.length}
        label="Receivers"
        head={
          <>
            <th>Name</th>
            <th>Channels</th>
            <th>Description</th>
            <th />
          </>
        }
        empty={
          <EmptyState icon="users" title="No receivers">
            <p>Routes and escalation levels notify receivers; each receiver is a set of channels.</p>
          </EmptyState>
        }
      >
        {rows.map((r) => (
          <tr key={r.id} data-receiver={r.id}>
            <td>
              <strong>{r.name}</strong>
            </td>
            <td>
              {r.channel_ids.length === 0 ? (
                <span className="badge badge-warn">no channels: notifies nobody</span>
              ) : (
                <div className="chips">
                  {r.channel_ids.map((id) => {
                    const c = channelById.get(id);
                    return (
                      <span className="chip" key={id} title={id}>
                        {c ? `${c.name} (${c.kind})` : isAdmin ? "deleted channel" : `channel ${id.slice(0, 8)}`}
                      </span>
                    );
                  })}
                </div>
              )}
            </td>
            <td className="small muted">{r.description}</td>
            <td className="actions nowrap">
              {isAdmin ? (
                <button type="button" className="btn btn-sm btn-ghost" aria-label={`Edit ${r.name}`} onClick={() => setEditing(r.id)}>
                  <Icon name="edit" /> Edit
                </button>
              ) : null}
              <DeleteButton shown={isAdmin} onClick={() => deleting.ask(r)} />
            </td>
          </tr>
        ))}
      </QueryTable>
      <DeleteDialog confirm={deleting} busy={remove.isPending} onDelete={(id) => remove.mutate(id)}>
        <p>Refused while a route or an escalation policy still names it.</p>
      </DeleteDialog>
    </ResourceSection>
  );
}
