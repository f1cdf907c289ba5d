/** Escalation policies: levels {after N minutes unacknowledged, notify these receivers}. */
import { CardForm } from "./CardForm";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode, type SyntheticEvent } from "react";
import { fieldErrors } from "../../../api/problem";
import { useCan } from "../../../auth/session";
import { Icon } from "../../../components/Icon";
import { QueryTable } from "../../../components/PagedTable";
import { CardError, CreateToggle, ResourceSection } from "../../../components/ResourceSection";
import { EmptyState, Field } from "../../../components/ui";
import {
  createEscalationPolicy,
  deleteEscalationPolicy,
  escalationQuery,
  receiversQuery,
  routingKeys,
  type EscalationPolicy,
} from "../../../api/routing";
import { spacedSeconds } from "../../../lib/format";
import { DeleteButton, DeleteDialog } from "./DeleteDialog";
import { useConfirm, useConfirmedMutation } from "../../../lib/useConfirm";

interface LevelDraft {
  minutes: string;
  receiver: string;
}

function CreatePolicy({ onDone }: { onDone: () => void }): ReactNode {
  const queryClient = useQueryClient();
  const receivers = useQuery(receiversQuery()).data?.items ?? [];
  const [name, setName] = useState("");
  const [levels, setLevels] = useState<LevelDraft[]>([{ minutes: "15", receiver: "" }]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const create = useMutation({
    mutationFn: () =>
      createEscalationPolicy({
        name: name.trim(),
        description: "",
        enabled: true,
        levels: levels.map((l) => ({ after_seconds: Number(l.minutes) * 60, receiver_ids: [l.receiver] })),
      }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: routingKeys.escalationPolicies });
      onDone();
    },
    onError: (error) => setErrors(fieldErrors(error)),
  });
  const submit = (event: SyntheticEvent): void => {
    event.preventDefault();
    if (!name.trim()) return setErrors({ name: "Name the policy." });
    if (levels.some((l) => !l.receiver || !(Number(l.minutes) >= 0)))
      return setErrors({ levels: "Every level needs minutes (0 or more) and a receiver." });
    create.mutate();
  };
  const set = (i: number, patch: Partial<LevelDraft>): void =>
    setLevels(levels.map((l, j) => (j === i ? { ...l, ...patch } : l)));
  return (
    <CardForm label="New escalation policy" onSubmit={submit} save={create} submit="Create policy">
      <Field label="Name" error={errors.name}>
        {(p) => <input {...p} className="input" value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <fieldset className="matcher-editor">
        <legend>Levels</legend>
        {levels.map((l, i) => (
          <div className="matcher-row" key={i}>
            <span className="small muted">Level {i + 1}: after</span>
            <input className="input" type="number" min={0} aria-label={`Level ${i + 1} minutes`} value={l.minutes} onChange={(e) => set(i, { minutes: e.target.value })} />
            <span className="small muted">min unacknowledged, notify</span>
            <select className="select" aria-label={`Level ${i + 1} receiver`} value={l.receiver} onChange={(e) => set(i, { receiver: e.target.value })}>
              <option value="">choose a receiver</option>
              {receivers.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.name}
                </option>
              ))}
            </select>
          </div>
        ))}
        <button type="button" className="btn btn-sm" onClick={() => setLevels([...levels, { minutes: "", receiver: "" }])}>
          <Icon name="plus" /> Add level
        </button>
        {errors.levels ? <div className="error">{errors.levels}</div> : null}
      </fieldset>
    </CardForm>
  );
}

export function EscalationPage(): ReactNode {
  const isAdmin = useCan("admin");
  const query = useQuery(escalationQuery());
  const receivers = new Map((useQuery(receiversQuery()).data?.items ?? []).map((r) => [r.id, r.name]));
  const [creating, setCreating] = useState(false);
  const deleting = useConfirm<EscalationPolicy>();
  const remove = useConfirmedMutation(deleting, deleteEscalationPolicy, routingKeys.escalationPolicies);
  const rows = query.data?.items ?? [];
  return (
    <ResourceSection
      title="Escalation policies"
      actions={isAdmin ? <CreateToggle open={creating} label="New policy" onToggle={() => setCreating((v) => !v)} /> : undefined}
    >
      {creating ? <CreatePolicy onDone={() => setCreating(false)} /> : null}
      <CardError error={remove.error} />
      <QueryTable
        query={query}
        count={rows.length}
        label="Escalation policies"
        head={
          <>
            <th>Name</th>
            <th>Levels</th>
            <th>Enabled</th>
            <th />
          </>
        }
        empty={
          <EmptyState icon="alerts" title="No escalation policies">
            <p>A policy notifies more receivers, level by level, while an alert stays unacknowledged. Pick it on a route of the routing tree; acknowledging the alert stops it.</p>
          </EmptyState>
        }
      >
        {rows.map((p) => (
          <tr key={p.id}>
            <td>
              <strong>{p.name}</strong>
              <div className="mono small faint">{p.id}</div>
            </td>
            <td>
              <ol className="small">
                {p.levels.map((l, i) => (
                  <li key={i}>
                    after {spacedSeconds(l.after_seconds)}:{" "}
                    {l.receiver_ids.map((id) => receivers.get(id) ?? id).join(", ")}
                  </li>
                ))}
              </ol>
            </td>
            <td>{p.enabled ? "yes" : "no"}</td>
            <td className="actions">
              <DeleteButton shown={isAdmin} onClick={() => deleting.ask(p)} />
            </td>
          </tr>
        ))}
      </QueryTable>
      <DeleteDialog confirm={deleting} busy={remove.isPending} onDelete={(id) => remove.mutate(id)}>
        <p>Refused while the routing tree names it.</p>
      </DeleteDialog>
    </ResourceSection>
  );
}
