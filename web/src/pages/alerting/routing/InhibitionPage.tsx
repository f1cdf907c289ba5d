/** Inhibition rules: while a source alert fires, matching targets with equal labels are muted. */
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode, type SyntheticEvent } from "react";
import { fieldErrors } from "../../../api/problem";
import { useCan } from "../../../auth/session";
import { PagedTable } from "../../../components/PagedTable";
import { CreateToggle, ResourceSection } from "../../../components/ResourceSection";
import { EmptyState, Field } from "../../../components/ui";
import {
  createInhibitionRule,
  deleteInhibitionRule,
  inhibitionQuery,
  routingKeys,
  toggleInhibitionRule,
  type InhibitionRule,
  type Matcher,
} from "../../../api/routing";
import { CardForm } from "./CardForm";
import { MatcherChips, MatcherEditor } from "./MatcherEditor";
import { DeleteButton, DeleteDialog } from "./DeleteDialog";
import { useConfirm, useConfirmedMutation } from "../../../lib/useConfirm";

function CreateRule({ onDone }: { onDone: () => void }): ReactNode {
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [source, setSource] = useState<Matcher[]>([{ name: "severity", op: "=", value: "critical" }]);
  const [target, setTarget] = useState<Matcher[]>([{ name: "severity", op: "=~", value: "warning|info" }]);
  const [equal, setEqual] = useState("agent");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const create = useMutation({
    mutationFn: () =>
      createInhibitionRule({
        name: name.trim(),
        source_matchers: source.filter((m) => m.name),
        target_matchers: target.filter((m) => m.name),
        enabled: true,
        equal: equal.split(",").map((s) => s.trim()).filter(Boolean),
      }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: routingKeys.inhibitionRules });
      onDone();
    },
    onError: (error) => setErrors(fieldErrors(error)),
  });
  const submit = (event: SyntheticEvent): void => {
    event.preventDefault();
    if (!name.trim()) {
      setErrors({ name: "Name the rule." });
      return;
    }
    create.mutate();
  };
  return (
    <CardForm label="New inhibition rule" onSubmit={submit} save={create} submit="Create rule">
      <Field label="Name" error={errors.name}>
        {(p) => <input {...p} className="input" value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <div className="grid-2">
        <MatcherEditor label="Source matcher" value={source} onChange={setSource} error={errors.source_matchers} />
        <MatcherEditor label="Target matcher" value={target} onChange={setTarget} error={errors.target_matchers} />
      </div>
      <Field label="Equal labels" error={errors.equal} hint="Comma-separated: source and target must agree on these.">
        {(p) => <input {...p} className="input mono" value={equal} onChange={(e) => setEqual(e.target.value)} />}
      </Field>
    </CardForm>
  );
}

export function InhibitionPage(): ReactNode {
  const canWrite = useCan("developer");
  const queryClient = useQueryClient();
  const query = useInfiniteQuery(inhibitionQuery());
  const [creating, setCreating] = useState(false);
  const deleting = useConfirm<InhibitionRule>();
  const rows = query.data?.pages.flatMap((p) => p.items) ?? [];
  const remove = useConfirmedMutation(deleting, deleteInhibitionRule, routingKeys.inhibitionRules);
  const toggle = useMutation({
    mutationFn: toggleInhibitionRule,
    onSettled: () => queryClient.invalidateQueries({ queryKey: routingKeys.inhibitionRules }),
  });
  return (
    <ResourceSection
      title="Inhibition rules"
      actions={canWrite ? <CreateToggle open={creating} label="New rule" onToggle={() => setCreating((v) => !v)} /> : undefined}
    >
      {creating ? <CreateRule onDone={() => setCreating(false)} /> : null}
      <PagedTable
        query={query}
        count={rows.length}
        noun={["inhibition rule", "inhibition rules"]}
        label="Inhibition rules"
        head={
          <>
            <th>Name</th>
            <th>While firing</th>
            <th>Mute</th>
            <th>Equal</th>
            <th>Enabled</th>
            <th />
          </>
        }
        empty={
          <EmptyState icon="alerts" title="No inhibition rules">
            <p>For example: while a critical alert fires for an agent, hold its warnings.</p>
          </EmptyState>
        }
      >
        {rows.map((r) => (
          <tr key={r.id}>
            <td>
              <strong>{r.name}</strong>
            </td>
            <td>
              <MatcherChips matchers={r.source_matchers} />
            </td>
            <td>
              <MatcherChips matchers={r.target_matchers} />
            </td>
            <td className="mono small">{r.equal.join(", ") || "—"}</td>
            <td>
              <input
                type="checkbox"
                aria-label={`Enable ${r.name}`}
                checked={r.enabled}
                disabled={!canWrite}
                onChange={() => toggle.mutate(r)}
              />
            </td>
            <td className="actions">
              <DeleteButton shown={canWrite} onClick={() => deleting.ask(r)} />
            </td>
          </tr>
        ))}
      </PagedTable>
      <DeleteDialog confirm={deleting} busy={remove.isPending} onDelete={(id) => remove.mutate(id)}>
        <p>Alerts it mutes are notified at once if they still fire.</p>
      </DeleteDialog>
    </ResourceSection>
  );
}
