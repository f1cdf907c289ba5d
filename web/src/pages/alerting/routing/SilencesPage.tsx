/** Silences: list by state, create with a matcher editor and a live preview, expire early. */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode, type SyntheticEvent } from "react";
import { useSearchParams } from "react-router";
import { errorMessage } from "../../../api/problem";
import { useCan } from "../../../auth/session";
import { FilterSelect, type FilterOption } from "../../../components/FilterBar";
import { PagedTable } from "../../../components/PagedTable";
import { CardError, CreateToggle, ResourceSection } from "../../../components/ResourceSection";
import {
  ConfirmFor,
  EmptyState,
  Field,
  Labels,
  Spinner,
  Time,
} from "../../../components/ui";
import { useDebounced } from "../../../lib/useDebounced";
import {
  createSilence,
  expireSilence,
  routingKeys,
  silencePreviewQuery,
  silencesQuery,
  type Matcher,
  type Silence,
  type SilenceState,
} from "../../../api/routing";
import { CardForm } from "./CardForm";
import { MatcherChips, MatcherEditor } from "./MatcherEditor";
import { useConfirm, useConfirmedMutation } from "../../../lib/useConfirm";

const STATES: readonly FilterOption<SilenceState | "">[] = [
  { value: "", label: "any state" },
  "active",
  "pending",
  "expired",
];
const DURATIONS: readonly [string, number][] = [
  ["1 hour", 3600],
  ["4 hours", 4 * 3600],
  ["1 day", 86400],
  ["1 week", 7 * 86400],
];

function complete(matchers: Matcher[]): Matcher[] {
  return matchers.filter((m) => m.name.trim() !== "");
}

function Preview({ matchers }: { matchers: Matcher[] }): ReactNode {
  const key = useDebounced(JSON.stringify(complete(matchers)), 300);
  const ready = JSON.parse(key) as Matcher[];
  const preview = useQuery(silencePreviewQuery(key));
  if (ready.length === 0) return <p className="muted small">Add a matcher to see which alerts it silences.</p>;
  if (preview.isError) return <p className="error small">{errorMessage(preview.error)}</p>;
  if (!preview.data) return <Spinner label="Matching alerts" />;
  return (
    <div className="stack" data-testid="silence-preview">
      <strong>
        {preview.data.count === 0
          ? "No unresolved alert matches."
          : `${preview.data.count} unresolved alert${preview.data.count === 1 ? "" : "s"} would be silenced`}
      </strong>
      {preview.data.alerts.slice(0, 10).map((a) => (
        <div key={a.id} className="row small">
          <span className="badge">{a.severity}</span> <strong>{a.rule_name}</strong>
          <Labels labels={a.labels} />
        </div>
      ))}
    </div>
  );
}

function CreateSilence({ initial, onDone }: { initial: Matcher[]; onDone: () => void }): ReactNode {
  const queryClient = useQueryClient();
  const [matchers, setMatchers] = useState<Matcher[]>(initial.length ? initial : [{ name: "", op: "=", value: "" }]);
  const [duration, setDuration] = useState(3600);
  const [comment, setComment] = useState("");
  const [error, setError] = useState<string>();
  const create = useMutation({
    mutationFn: () =>
      createSilence({
        matchers: complete(matchers),
        ends_at: new Date(Date.now() + duration * 1000).toISOString(),
        comment,
      }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: routingKeys.silences });
      onDone();
    },
  });
  const submit = (event: SyntheticEvent): void => {
    event.preventDefault();
    if (complete(matchers).length === 0) {
      setError("Add at least one matcher with a label name.");
      return;
    }
    setError(undefined);
    create.mutate();
  };
  return (
    <CardForm label="New silence" onSubmit={submit} save={create} submit="Create silence" busyLabel="Saving">
      <div className="grid-2">
        <div className="stack">
          <MatcherEditor label="Matcher" value={matchers} onChange={setMatchers} error={error} />
          <Field label="Duration">
            {(p) => (
              <select {...p} className="select" value={duration} onChange={(e) => setDuration(Number(e.target.value))}>
                {DURATIONS.map(([label, s]) => (
                  <option key={s} value={s}>
                    {label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Comment" hint="Why, and who to ask.">
            {(p) => <input {...p} className="input" value={comment} onChange={(e) => setComment(e.target.value)} />}
          </Field>
        </div>
        <div className="card-inset">
          <Preview matchers={matchers} />
        </div>
      </div>
    </CardForm>
  );
}

function stateBadge(state: SilenceState): ReactNode {
  const tone = state === "active" ? "badge-ok" : state === "pending" ? "badge-warn" : "badge-muted";
  return <span className={`badge ${tone}`}>{state}</span>;
}

/** Matchers from `?matcher=name=value` (several allowed), e.g. linked from an alert. */
function initialMatchers(params: URLSearchParams): Matcher[] {
  return params.getAll("matcher").flatMap((text) => {
    const at = text.indexOf("=");
    return at > 0 ? [{ name: text.slice(0, at), op: "=" as const, value: text.slice(at + 1) }] : [];
  });
}

export function SilencesPage(): ReactNode {
  const canWrite = useCan("developer");
  const [params] = useSearchParams();
  const prefill = initialMatchers(params);
  const [state, setState] = useState<SilenceState | "">("active");
  const [q, setQ] = useState("");
  const [creating, setCreating] = useState(prefill.length > 0);
  const expiring = useConfirm<Silence>();
  const query = useInfiniteQuery(silencesQuery(state, useDebounced(q, 250)));
  const rows = query.data?.pages.flatMap((p) => p.items) ?? [];
  const expire = useConfirmedMutation(expiring, expireSilence, routingKeys.silences);
  return (
    <ResourceSection
      title="Silences"
      actions={
        <div className="row" style={{ flexWrap: "nowrap" }}>
          <FilterSelect label="State" style={{ width: "auto" }} options={STATES} value={state} onChange={setState} />
          <input className="input" style={{ width: 200 }} placeholder="Comment contains" aria-label="Search comments" value={q} onChange={(e) => setQ(e.target.value)} />
          {canWrite ? <CreateToggle open={creating} label="New silence" onToggle={() => setCreating((v) => !v)} /> : null}
        </div>
      }
    >
      {creating ? <CreateSilence initial={prefill} onDone={() => setCreating(false)} /> : null}
      <CardError error={expire.error} />
      <PagedTable
        query={query}
        count={rows.length}
        minHeight={120}
        label="Silences"
        head={
          <>
            <th>Matchers</th>
            <th>Status</th>
            <th>Starts</th>
            <th>Ends</th>
            <th>Comment</th>
            <th />
          </>
        }
        empty={
          <EmptyState icon="alerts" title={state ? `No ${state} silences` : "No silences"}>
            <p>A silence mutes notifications for alerts matching its matchers until it ends.</p>
          </EmptyState>
        }
      >
        {rows.map((s) => (
          <tr key={s.id} data-silence={s.id}>
            <td>
              <MatcherChips matchers={s.matchers} />
            </td>
            <td>{stateBadge(s.status)}</td>
            <td>
              <Time value={s.starts_at} />
            </td>
            <td>
              <Time value={s.ends_at} />
            </td>
            <td className="small">{s.comment}</td>
            <td className="actions">
              {canWrite && s.status !== "expired" ? (
                <button type="button" className="btn btn-sm btn-danger-ghost" onClick={() => expiring.ask(s)}>
                  Expire
                </button>
              ) : null}
            </td>
          </tr>
        ))}
      </PagedTable>
      <ConfirmFor
        confirm={expiring}
        title={() => "Expire this silence now?"}
        confirmLabel="Expire"
        busy={expire.isPending}
        onConfirm={(s) => expire.mutate(s.id)}
      >
        <p>Alerts it mutes that are still firing are notified at once.</p>
      </ConfirmFor>
    </ResourceSection>
  );
}
