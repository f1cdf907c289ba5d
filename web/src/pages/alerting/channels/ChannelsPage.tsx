import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type ReactNode, type SyntheticEvent } from "react";
import { Link } from "react-router";
import { fieldErrors } from "../../../api/problem";
import {
  channelKindsQuery,
  channelsQuery,
  createChannel,
  deleteChannel,
  notifyKeys,
  testChannel,
  updateChannel,
  type Channel,
  type ChannelKind as Kind,
  type KindField,
  type TestResult,
} from "../../../api/notify";
import { RequireRole } from "../../../auth/guards";
import { QueryStates } from "../../../components/QueryStates";
import { CardError, CreateToggle, ResourceSection } from "../../../components/ResourceSection";
import { Banner, ConfirmFor, EmptyState, ErrorBanner, Field, PageHead, Spinner, Time } from "../../../components/ui";
import { useConfirm } from "../../../lib/useConfirm";

type Values = Record<string, string | boolean>;

function initialValues(kind: Kind, channel: Channel | null): Values {
  const out: Values = {};
  for (const f of kind.fields) {
    if (f.secret) {
      out[f.name] = "";
      continue;
    }
    const stored: unknown = channel ? channel.config[f.name] : f.default;
    if (f.type === "boolean") out[f.name] = Boolean(stored);
    else if (Array.isArray(stored)) out[f.name] = stored.join(", ");
    else if (typeof stored === "string" || typeof stored === "number") out[f.name] = String(stored);
    else out[f.name] = "";
  }
  return out;
}

function toBody(kind: Kind, values: Values, editing: boolean): { config: Record<string, unknown>; secrets: Record<string, unknown> } {
  const config: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  for (const f of kind.fields) {
    const v = values[f.name];
    if (f.secret) {
      if (typeof v === "string" && v !== "") secrets[f.name] = v; // empty: keep what is stored
      continue;
    }
    if (f.type === "boolean") config[f.name] = Boolean(v);
    else if (typeof v === "string" && v.trim() === "") {
      if (editing) config[f.name] = null;
    } else if (f.type === "integer") config[f.name] = Number(v);
    else if (f.type === "list") config[f.name] = String(v).split(",").map((s) => s.trim()).filter(Boolean);
    else config[f.name] = String(v).trim();
  }
  return { config, secrets };
}

function FieldInput({ field, value, onChange, isSet, error }: { field: KindField; value: string | boolean; onChange: (v: string | boolean) => void; isSet: boolean; error: string | undefined }): ReactNode {
  const label = field.name.replaceAll("_", " ") + (field.required && !isSet ? " *" : "");
  if (field.type === "boolean") {
    return (
      <label className="row small" style={{ gap: 8 }}>
        <input type="checkbox" name={field.name} checked={Boolean(value)} onChange={(e) => onChange(e.target.checked)} /> {label}
      </label>
    );
  }
  const hint = field.secret ? (isSet ? "Set. Leave empty to keep it." : "Write-only: never shown again.") : (field.description ?? (field.type === "list" ? "Comma-separated." : undefined));
  return (
    <Field label={label} error={error} hint={hint}>
      {(p) =>
        field.type === "enum" ? (
          <select {...p} name={field.name} className="select" value={String(value)} onChange={(e) => onChange(e.target.value)}>
            {(field.choices ?? []).map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        ) : (
          <input
            {...p}
            name={field.name}
            className="input"
            autoComplete="off"
            type={field.secret ? "password" : field.type === "integer" ? "number" : "text"}
            placeholder={field.secret && isSet ? "••••••••" : undefined}
            value={String(value)}
            onChange={(e) => onChange(e.target.value)}
          />
        )
      }
    </Field>
  );
}

function ChannelForm({ kinds, channel, onDone }: { kinds: Kind[]; channel: Channel | null; onDone: () => void }): ReactNode {
  const queryClient = useQueryClient();
  const [kindName, setKindName] = useState<string>(channel?.kind ?? kinds[0]?.kind ?? "webhook");
  const kind = kinds.find((k) => k.kind === kindName) ?? kinds[0];
  const [name, setName] = useState(channel?.name ?? "");
  const [rate, setRate] = useState(channel?.rate_limit_per_minute ? String(channel.rate_limit_per_minute) : "");
  const [sendResolved, setSendResolved] = useState(channel?.send_resolved ?? true);
  const [enabled, setEnabled] = useState(channel?.enabled ?? true);
  const [values, setValues] = useState<Values>(() => (kind ? initialValues(kind, channel) : {}));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: async () => {
      if (!kind) throw new Error("no channel kinds");
      const { config, secrets } = toBody(kind, values, channel !== null);
      const common = { name: name.trim(), config, secrets, enabled, send_resolved: sendResolved, rate_limit_per_minute: rate.trim() ? Number(rate) : null };
      if (channel) {
        return updateChannel(channel.id, common);
      }
      return createChannel({ ...common, kind: kind.kind });
    },
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: notifyKeys.channels });
      onDone();
    },
    onError: (error) => setErrors(fieldErrors(error)),
  });
  if (!kind) return null;
  const submit = (event: SyntheticEvent): void => {
    event.preventDefault();
    if (!name.trim()) {
      setErrors({ name: "Give the channel a name." });
      return;
    }
    setErrors({});
    save.mutate();
  };
  return (
    <form className="card-body form" onSubmit={submit} noValidate aria-label={channel ? "Edit channel" : "New channel"} style={{ borderBottom: "1px solid var(--border)" }}>
      {save.isError ? <ErrorBanner error={save.error} /> : null}
      <div className="grid-3">
        <Field label="Name" error={errors.name}>
          {(p) => <input {...p} name="name" className="input" autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Kind" error={errors.kind}>
          {(p) => (
            <select
              {...p}
              name="kind"
              className="select"
              value={kind.kind}
              disabled={channel !== null}
              onChange={(e) => {
                const next = kinds.find((k) => k.kind === e.target.value);
                setKindName(e.target.value);
                if (next) setValues(initialValues(next, null));
              }}
            >
              {kinds.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.title}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Rate limit (per minute)" error={errors.rate_limit_per_minute} hint="Empty: the server default.">
          {(p) => <input {...p} name="rate_limit_per_minute" className="input" type="number" min={1} value={rate} onChange={(e) => setRate(e.target.value)} />}
        </Field>
      </div>
      <div className="grid-3">
        {kind.fields.map((f) => (
          <FieldInput
            key={`${kind.kind}-${f.name}`}
            field={f}
            value={values[f.name] ?? ""}
            isSet={Boolean(channel?.secrets_set.includes(f.name))}
            error={errors[`${f.secret ? "secrets" : "config"}.${f.name}`] ?? Object.entries(errors).find(([k]) => k.startsWith(`config.${f.name}.`))?.[1]}
            onChange={(v) => setValues((old) => ({ ...old, [f.name]: v }))}
          />
        ))}
      </div>
      <div className="row" style={{ gap: 16 }}>
        <label className="row small" style={{ gap: 8 }}>
          <input type="checkbox" name="enabled" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> enabled
        </label>
        <label className="row small" style={{ gap: 8 }}>
          <input type="checkbox" name="send_resolved" checked={sendResolved} onChange={(e) => setSendResolved(e.target.checked)} /> notify when resolved
        </label>
      </div>
      <div className="form-actions">
        <button type="button" className="btn" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={save.isPending}>
          {save.isPending ? <Spinner label="Saving" /> : null}
          {channel ? "Save channel" : "Create channel"}
        </button>
      </div>
    </form>
  );
}

function TestOutcome({ result }: { result: TestResult }): ReactNode {
  const d = result.delivery;
  return (
    <Banner tone={result.ok ? "success" : "error"}>
      <span data-testid="test-result">
        <strong>{result.ok ? "Test delivered" : "Test failed"}</strong>
        {d ? ` — ${d.status}${d.response_code ? `, ${d.response_code}` : ""}${d.latency_ms != null ? `, ${Math.round(d.latency_ms)} ms` : ""}${d.error ? `: ${d.error}` : ""}` : ""}
      </span>
    </Banner>
  );
}

function Channels(): ReactNode {
  const queryClient = useQueryClient();
  const kinds = useQuery(channelKindsQuery());
  const list = useQuery(channelsQuery());
  const [editing, setEditing] = useState<Channel | "new" | null>(null);
  const deleting = useConfirm<Channel>();
  const [tested, setTested] = useState<{ id: string; result: TestResult } | null>(null);
  const test = useMutation({
    mutationFn: testChannel,
    onSuccess: async (result, id) => {
      setTested({ id, result });
      await queryClient.invalidateQueries({ queryKey: notifyKeys.channels });
    },
  });
  const remove = useMutation({
    mutationFn: deleteChannel,
    onSuccess: async () => {
      deleting.close();
      await queryClient.invalidateQueries({ queryKey: notifyKeys.channels });
    },
  });
  const channels = list.data?.items ?? [];
  const kindTitle = (k: string): string => kinds.data?.items.find((x) => x.kind === k)?.title ?? k;
  return (
    <ResourceSection
      title="Channels"
      actions={<CreateToggle open={editing !== null} label="New channel" onToggle={() => setEditing(editing ? null : "new")} />}
    >
      {editing && kinds.data ? <ChannelForm key={editing === "new" ? "new" : editing.id} kinds={kinds.data.items} channel={editing === "new" ? null : editing} onDone={() => setEditing(null)} /> : null}
      <CardError error={test.error} />
      {tested ? <div className="card-body"><TestOutcome result={tested.result} /></div> : null}
      <QueryStates
        query={list}
        isEmpty={channels.length === 0}
        minHeight={160}
        empty={
          <EmptyState icon="alerts" title="No notification channels yet">
            <p>Channels are where alert notifications go: email, Slack, Teams, Discord, Telegram, ntfy, PagerDuty or any webhook.</p>
          </EmptyState>
        }
      >
        <div className="table-wrap">
          <table className="table" aria-label="Notification channels">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Status</th>
                <th>Secrets set</th>
                <th>Last test</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {channels.map((c) => (
                <tr key={c.id} data-channel={c.name}>
                  <td><strong>{c.name}</strong></td>
                  <td>{kindTitle(c.kind)}</td>
                  <td>{c.enabled ? <span className="badge badge-ok">enabled</span> : <span className="badge badge-muted">disabled</span>}</td>
                  <td className="small mono">{c.secrets_set.join(", ") || <span className="faint">none</span>}</td>
                  <td>
                    {c.last_test_at ? (
                      <>
                        <span className={c.last_test_ok ? "badge badge-ok" : "badge badge-warn"}>{c.last_test_ok ? "ok" : "failed"}</span> <Time value={c.last_test_at} />
                      </>
                    ) : (
                      <span className="faint">never</span>
                    )}
                  </td>
                  <td className="actions">
                    <button type="button" className="btn btn-sm" disabled={test.isPending} onClick={() => test.mutate(c.id)}>
                      {test.isPending && test.variables === c.id ? <Spinner label="Sending" /> : null}
                      Send test
                    </button>{" "}
                    <button type="button" className="btn btn-sm" onClick={() => setEditing(c)}>
                      Edit
                    </button>{" "}
                    <Link className="btn btn-sm" to={`/alerting/deliveries?channel_id=${c.id}`}>
                      Log
                    </Link>{" "}
                    <button type="button" className="btn btn-sm btn-danger-ghost" onClick={() => deleting.ask(c)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </QueryStates>
      <ConfirmFor
        confirm={deleting}
        title={(c) => `Delete channel ${c.name}?`}
        confirmLabel="Delete"
        busy={remove.isPending}
        onConfirm={(c) => remove.mutate(c.id)}
      >
        <p>Its queued notifications and delivery log go with it.</p>
      </ConfirmFor>
    </ResourceSection>
  );
}

export function ChannelsPage(): ReactNode {
  return (
    <div className="page">
      <PageHead title="Notification channels" subtitle="Where alert notifications are delivered." actions={<Link className="btn" to="/alerting/deliveries">Delivery log</Link>} />
      <RequireRole role="admin">
        <Channels />
      </RequireRole>
    </div>
  );
}
