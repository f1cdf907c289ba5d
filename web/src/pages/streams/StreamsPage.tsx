/** Log streams: create one (services, severities, batch size and timeout), see each stream's
 * statistics and its latest batches, stop it. Developers create and stop; everyone reads. */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Fragment, useState, type ReactNode, type SyntheticEvent } from "react";
import { Link } from "react-router";
import {
  batchesQuery,
  createStream,
  LOG_SEVERITIES,
  logintelKeys,
  stopStream,
  streamsQuery,
  type LogStreamPublic,
} from "../../api/anomalies";
import { fieldErrors } from "../../api/problem";
import { useCan } from "../../auth/session";
import { PagedTable } from "../../components/PagedTable";
import { CardError, CreateToggle, ResourceSection } from "../../components/ResourceSection";
import { ConfirmFor, EmptyState, ErrorBanner, Field, LinesWhen, PageHead, Spinner, Time } from "../../components/ui";
import { useConfirm, useConfirmedMutation } from "../../lib/useConfirm";

type Severity = (typeof LOG_SEVERITIES)[number];

function CreateStream({ onCreated }: { onCreated: () => void }): ReactNode {
  const client = useQueryClient();
  const [name, setName] = useState("");
  const [services, setServices] = useState("");
  const [severities, setSeverities] = useState<Severity[]>(["ERROR", "WARNING", "INFO"]);
  const [size, setSize] = useState("100");
  const [timeout, setTimeoutText] = useState("300");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const create = useMutation({
    mutationFn: () =>
      createStream({
        name: name.trim(),
        services: services
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
        severity_filter: severities,
        batch_size: Number(size),
        batch_timeout_seconds: Number(timeout),
      }),
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: logintelKeys.streams });
      onCreated();
    },
    onError: (error) => setErrors(fieldErrors(error)),
  });
  const submit = (event: SyntheticEvent): void => {
    event.preventDefault();
    const found: Record<string, string> = {};
    if (!name.trim()) found.name = "Name the stream.";
    const n = Number(size);
    if (!Number.isInteger(n) || n < 10 || n > 1000) found.batch_size = "A whole number from 10 to 1000.";
    const t = Number(timeout);
    if (!Number.isInteger(t) || t < 60 || t > 3600) found.batch_timeout_seconds = "Seconds, from 60 to 3600.";
    if (severities.length === 0) found.severity_filter = "Pick at least one severity.";
    setErrors(found);
    if (Object.keys(found).length === 0) create.mutate();
  };
  const toggle = (s: Severity): void =>
    setSeverities((current) => (current.includes(s) ? current.filter((x) => x !== s) : [...current, s]));
  return (
    <form
      className="card-body form"
      onSubmit={submit}
      noValidate
      aria-label="New log stream"
      style={{ borderBottom: "1px solid var(--border)" }}
    >
      {create.isError && Object.keys(errors).length === 0 ? <ErrorBanner error={create.error} /> : null}
      <div className="grid-3">
        <Field label="Name" error={errors.name}>
          {(p) => <input {...p} name="name" className="input" value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Services" error={errors.services} hint="Comma-separated; empty: every service.">
          {(p) => (
            <input {...p} name="services" className="input" value={services} onChange={(e) => setServices(e.target.value)} />
          )}
        </Field>
        <Field label="Severities" error={errors.severity_filter}>
          {() => (
            <div className="row" role="group" aria-label="Severities">
              {LOG_SEVERITIES.map((s) => (
                <label key={s} className="small nowrap">
                  <input type="checkbox" checked={severities.includes(s)} onChange={() => toggle(s)} /> {s}
                </label>
              ))}
            </div>
          )}
        </Field>
        <Field label="Batch size (lines)" error={errors.batch_size} hint="10 to 1000.">
          {(p) => (
            <input {...p} name="batch_size" type="number" min={10} max={1000} className="input" value={size} onChange={(e) => setSize(e.target.value)} />
          )}
        </Field>
        <Field label="Batch timeout (seconds)" error={errors.batch_timeout_seconds} hint="60 to 3600.">
          {(p) => (
            <input
              {...p}
              name="batch_timeout_seconds"
              type="number"
              min={60}
              max={3600}
              className="input"
              value={timeout}
              onChange={(e) => setTimeoutText(e.target.value)}
            />
          )}
        </Field>
      </div>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          {create.isPending ? <Spinner label="Creating" /> : null}
          Create stream
        </button>
      </div>
    </form>
  );
}

function Batches({ stream }: { stream: LogStreamPublic }): ReactNode {
  const query = useQuery(batchesQuery(stream.stream_id));
  const batches = query.data?.items ?? [];
  if (query.isPending) return <Spinner />;
  if (query.isError) return <ErrorBanner error={query.error} />;
  if (batches.length === 0) return <span className="faint">No batch yet: one closes at {stream.batch_size} lines or after {stream.batch_timeout_seconds} s.</span>;
  return (
    <table className="table" aria-label={`Batches of ${stream.name}`}>
      <thead>
        <tr>
          <th title="When its lines happened; beneath, when the batch closed">When</th>
          <th>Status</th>
          <th>By</th>
          <th>Lines</th>
          <th>Errors</th>
          <th>Warnings</th>
          <th>Error rate</th>
          <th>Anomalies</th>
        </tr>
      </thead>
      <tbody>
        {batches.map((b) => (
          <tr key={b.batch_id}>
            <td>
              <LinesWhen start={b.window_start} end={b.window_end} label="closed" at={b.created_at} />
            </td>
            <td>
              <span className={`badge badge-${b.status}`}>{b.status}</span>
            </td>
            <td className="small">{b.closed_by}</td>
            <td>{b.statistics.total}</td>
            <td>{b.statistics.errors}</td>
            <td>{b.statistics.warnings}</td>
            <td>{(b.statistics.error_rate * 100).toFixed(1)}%</td>
            <td>{b.anomalies}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function StreamsPage(): ReactNode {
  const canWrite = useCan("developer");
  const query = useInfiniteQuery(streamsQuery());
  const streams = query.data?.pages.flatMap((p) => p.items) ?? [];
  const [creating, setCreating] = useState(false);
  const stopping = useConfirm<LogStreamPublic>();
  const [open, setOpen] = useState<string | null>(null);
  const stop = useConfirmedMutation(stopping, stopStream, logintelKeys.streams);
  return (
    <>
      <PageHead
        title="Log streams"
        subtitle="Each stream cuts the lines it matches into batches; every batch is checked for anomalies."
        actions={
          <Link className="btn" to="/anomalies">
            Anomalies
          </Link>
        }
      />
      <ResourceSection
        title="Streams"
        actions={canWrite ? <CreateToggle open={creating} label="New stream" onToggle={() => setCreating((v) => !v)} /> : undefined}
      >
        {creating ? <CreateStream onCreated={() => setCreating(false)} /> : null}
        <CardError error={stop.error} />
        <PagedTable
          query={query}
          count={streams.length}
          label="Log streams"
          minHeight={160}
          head={
            <>
              <th>Name</th>
              <th>Services</th>
              <th>Severities</th>
              <th>Batch</th>
              <th>Lines</th>
              <th>Batches</th>
              <th>Anomalies</th>
              <th>Last batch</th>
              <th />
            </>
          }
          empty={
            <EmptyState icon="logs" title="No log streams yet">
              <p>A stream takes the lines of some services and severities and cuts them into batches for the detectors.</p>
            </EmptyState>
          }
        >
          {streams.map((s) => (
            <Fragment key={s.stream_id}>
              <tr data-stream={s.name}>
                <td>
                  <strong>{s.name}</strong>
                </td>
                <td className="small">{s.services.length ? s.services.join(", ") : <span className="faint">all</span>}</td>
                <td className="mono small">{s.severity_filter.join(" ")}</td>
                <td className="small nowrap">
                  {s.batch_size} lines / {s.batch_timeout_seconds} s
                </td>
                <td>{s.lines_total}</td>
                <td>{s.batches_total}</td>
                <td>{s.anomalies_total}</td>
                <td>
                  <Time value={s.last_batch_at} />
                </td>
                <td className="actions nowrap">
                  <button type="button" className="btn btn-sm" onClick={() => setOpen(open === s.stream_id ? null : s.stream_id)}>
                    {open === s.stream_id ? "Hide batches" : "Batches"}
                  </button>{" "}
                  {canWrite ? (
                    <button type="button" className="btn btn-sm btn-danger-ghost" onClick={() => stopping.ask(s)}>
                      Stop
                    </button>
                  ) : null}
                </td>
              </tr>
              {open === s.stream_id ? (
                <tr>
                  <td colSpan={9}>
                    <Batches stream={s} />
                  </td>
                </tr>
              ) : null}
            </Fragment>
          ))}
        </PagedTable>
        <ConfirmFor
          confirm={stopping}
          title={(stream) => `Stop ${stream.name}?`}
          confirmLabel="Stop stream"
          busy={stop.isPending}
          onConfirm={(stream) => stop.mutate(stream.stream_id)}
        >
          <p>No further batches are cut from its lines. Its batches and anomalies stay.</p>
        </ConfirmFor>
      </ResourceSection>
    </>
  );
}
