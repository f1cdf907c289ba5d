/**
 * The metrics explorer: pick a metric (with search), narrow it by label, or write PromQL
 * (with completion of metric and label names); run it over a relative or absolute range;
 * see a chart or a table. The executed query, range, step and view live in the address, so
 * the URL can be shared and reopening it runs the query again.
 */
import { useQuery } from "@tanstack/react-query";
import { useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { useSearchParams } from "react-router";
import { toChartSeries } from "../../api/prom";
import { labelNamesQuery, metricNamesQuery, metricSeriesQuery, rangeQuery } from "../../api/telemetry";
import { Icon } from "../../components/Icon";
import { RangePicker } from "../../components/RangePicker";
import { TimeSeriesChart } from "../../components/TimeSeriesChart";
import { formatValue, seriesColor } from "../../lib/chartData";
import { Banner, CopyButton, ErrorBanner, PageHead, Spinner } from "../../components/ui";
import { formatTime } from "../../lib/format";
import {
  applyCompletion,
  buildSelector,
  completionAt,
  PROMQL_FUNCTIONS,
  suggest,
  type Completion,
} from "../../lib/promqlComplete";
import {
  formatDuration,
  paramsFromState,
  parseDuration,
  stateFromParams,
  type ExploreState,
  type TimeRange,
} from "../../lib/timeRange";
import { useDebounced } from "../../lib/useDebounced";

const MAX_SERIES = 100;

function MetricPicker({ selected, onPick }: { selected: string; onPick: (name: string) => void }): ReactNode {
  const names = useQuery(metricNamesQuery());
  const [search, setSearch] = useState("");
  const q = useDebounced(search.trim().toLowerCase(), 100);
  const shown = useMemo(() => (names.data ?? []).filter((n) => n.toLowerCase().includes(q)), [names.data, q]);
  return (
    <section className="card picker" aria-label="Metrics">
      <div className="picker-head">
        <h2>Metrics</h2>
        <input
          className="input"
          type="search"
          placeholder="Search metrics"
          aria-label="Search metrics"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
      </div>
      <div className="picker-list" role="listbox" aria-label="Metric names">
        {names.isPending ? (
          <div className="picker-note">
            <Spinner /> Loading metric names
          </div>
        ) : names.isError ? (
          <div className="picker-note error">{names.error.message}</div>
        ) : shown.length === 0 ? (
          <div className="picker-note">{names.data.length ? "No metric matches" : "No metrics yet"}</div>
        ) : (
          shown.map((n) => (
            <button
              type="button"
              role="option"
              aria-selected={n === selected}
              key={n}
              className="picker-item mono"
              onClick={() => onPick(n)}
            >
              {n}
            </button>
          ))
        )}
      </div>
    </section>
  );
}

function LabelFilters({
  metric,
  filters,
  onChange,
}: {
  metric: string;
  filters: Record<string, string>;
  onChange: (filters: Record<string, string>) => void;
}): ReactNode {
  const found = useQuery(metricSeriesQuery(metric));
  const values = useMemo(() => {
    const out = new Map<string, Set<string>>();
    for (const s of found.data ?? []) {
      for (const [k, v] of Object.entries(s)) {
        if (k === "__name__") continue;
        const set = out.get(k) ?? new Set<string>();
        set.add(v);
        out.set(k, set);
      }
    }
    return [...out.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [found.data]);
  if (!metric) return null;
  return (
    <section className="card picker" aria-label="Label filters">
      <div className="picker-head">
        <h2>Labels</h2>
        <span className="faint small">
          {found.data ? `${found.data.length} series` : null}
        </span>
      </div>
      <div className="label-filters">
        {found.isError ? <div className="picker-note error">{found.error.message}</div> : null}
        {values.map(([name, set]) => (
          <label key={name} className="label-filter">
            <span className="mono">{name}</span>
            <select
              className="select"
              aria-label={`Label ${name}`}
              value={filters[name] ?? ""}
              onChange={(e) => onChange({ ...filters, [name]: e.target.value })}
            >
              <option value="">any</option>
              {[...set].sort().map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
          </label>
        ))}
      </div>
    </section>
  );
}

function QueryEditor({
  value,
  onChange,
  onRun,
}: {
  value: string;
  onChange: (text: string) => void;
  onRun: () => void;
}): ReactNode {
  const metrics = useQuery(metricNamesQuery());
  const labels = useQuery(labelNamesQuery());
  const area = useRef<HTMLTextAreaElement>(null);
  // Where the caret goes once an accepted completion is in the textarea. Set in a layout effect,
  // i.e. before the browser handles the next key, so fast typing after Tab lands after the word.
  const pendingCaret = useRef<number | null>(null);
  useLayoutEffect(() => {
    if (pendingCaret.current === null) return;
    area.current?.setSelectionRange(pendingCaret.current, pendingCaret.current);
    pendingCaret.current = null;
  }, [value]);
  const [completion, setCompletion] = useState<{ at: Completion; caret: number; items: string[] } | null>(null);
  const [active, setActive] = useState(0);

  const refresh = (text: string, caret: number): void => {
    const at = completionAt(text, caret);
    if (!at) {
      setCompletion(null);
      return;
    }
    const pool =
      at.context === "label"
        ? (labels.data ?? []).filter((l) => l !== "__name__")
        : [...(metrics.data ?? []), ...PROMQL_FUNCTIONS];
    const items = suggest(at.prefix, pool);
    setCompletion(items.length ? { at, caret, items } : null);
    setActive(0);
  };

  const accept = (item: string): void => {
    if (!completion) return;
    const [text, caret] = applyCompletion(value, completion.at, completion.caret, item);
    if (text === value) area.current?.setSelectionRange(caret, caret);
    else pendingCaret.current = caret;
    onChange(text);
    setCompletion(null);
    area.current?.focus();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (completion) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const n = completion.items.length;
        setActive((i) => (i + (e.key === "ArrowDown" ? 1 : n - 1)) % n);
        return;
      }
      if (e.key === "Tab" || (e.key === "Enter" && !e.shiftKey)) {
        e.preventDefault();
        const item = completion.items[active] ?? completion.items[0];
        if (item !== undefined) accept(item);
        return;
      }
      if (e.key === "Escape") {
        setCompletion(null);
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      onRun();
    }
  };

  return (
    <div className="query-editor">
      <textarea
        ref={area}
        className="textarea code"
        aria-label="PromQL query"
        placeholder='e.g. sum by (agent) (rate(agent_requests_total[5m]))'
        spellCheck={false}
        rows={2}
        value={value}
        onChange={(e) => {
          onChange(e.target.value);
          refresh(e.target.value, e.target.selectionStart);
        }}
        onKeyDown={onKeyDown}
        onBlur={() => setCompletion(null)}
        aria-autocomplete="list"
        aria-expanded={completion !== null}
        aria-controls="promql-completions"
      />
      {completion ? (
        <ul className="completions" id="promql-completions" role="listbox" aria-label="Suggestions">
          {completion.items.map((item, i) => (
            <li
              key={item}
              role="option"
              aria-selected={i === active}
              className="mono"
              onMouseDown={(e) => {
                e.preventDefault();
                accept(item);
              }}
            >
              {item}
              {PROMQL_FUNCTIONS.includes(item) ? <span className="faint small"> function</span> : null}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

function ResultTable({ rows }: { rows: ReturnType<typeof toChartSeries> }): ReactNode {
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Query result">
        <thead>
          <tr>
            <th>Series</th>
            <th>Last</th>
            <th>Min</th>
            <th>Avg</th>
            <th>Max</th>
            <th>At</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => {
            const vals = r.points.map(([, v]) => v).filter((v): v is number => v !== null && Number.isFinite(v));
            const last = r.points[r.points.length - 1];
            const avg = vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
            return (
              <tr key={r.label}>
                <td className="mono small series-cell">
                  <span className="swatch" style={{ background: seriesColor(i) }} />
                  {r.label}
                </td>
                <td>{formatValue(last?.[1] ?? null)}</td>
                <td>{formatValue(vals.length ? Math.min(...vals) : null)}</td>
                <td>{formatValue(avg)}</td>
                <td>{formatValue(vals.length ? Math.max(...vals) : null)}</td>
                <td className="small nowrap">{last ? formatTime(new Date(last[0] * 1000).toISOString()) : "—"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function ExplorePage(): ReactNode {
  const [params, setParams] = useSearchParams();
  const executed = useMemo(() => stateFromParams(params), [params]);
  const [draft, setDraft] = useState(executed.query);
  const [stepText, setStepText] = useState(executed.step === null ? "" : formatDuration(executed.step));
  const [picked, setPicked] = useState("");
  const [filters, setFilters] = useState<Record<string, string>>({});
  const stepValid = stepText.trim() === "" || parseDuration(stepText) !== null;

  const commit = (patch: Partial<ExploreState>): void => {
    setParams(paramsFromState({ ...executed, ...patch }));
  };

  const result = useQuery(rangeQuery(executed.query, executed.range, executed.step));

  const run = (query = draft): void => {
    const step = stepText.trim() ? parseDuration(stepText) : null;
    const next = { ...executed, query: query.trim(), step };
    if (paramsFromState(next).toString() === params.toString()) void result.refetch();
    else setParams(paramsFromState(next));
  };

  const pick = (name: string): void => {
    setPicked(name);
    setFilters({});
    setDraft(name);
    run(name);
  };

  const changeFilters = (next: Record<string, string>): void => {
    setFilters(next);
    const query = buildSelector(picked, next);
    setDraft(query);
    run(query);
  };

  const chartSeries = useMemo(() => (result.data ? toChartSeries(result.data.data).slice(0, MAX_SERIES) : []), [result.data]);
  const total = result.data ? toChartSeries(result.data.data).length : 0;
  const shareUrl = typeof window === "undefined" ? "" : window.location.href;

  return (
    <>
      <PageHead
        title="Metrics"
        subtitle="Query your agents' time series with PromQL."
        actions={executed.query ? <CopyButton text={shareUrl} label="Copy link" /> : undefined}
      />
      <div className="explore">
        <aside className="explore-side">
          <MetricPicker selected={picked} onPick={pick} />
          <LabelFilters metric={picked} filters={filters} onChange={changeFilters} />
        </aside>
        <div className="stack explore-main">
          <section className="card">
            <div className="card-body stack" style={{ gap: 12 }}>
              <div className="query-row">
                <QueryEditor value={draft} onChange={setDraft} onRun={() => run()} />
                <button type="button" className="btn btn-primary" onClick={() => run()} disabled={!draft.trim() || !stepValid}>
                  <Icon name="refresh" /> Run query
                </button>
              </div>
              <div className="row explore-controls">
                <RangePicker value={executed.range} onChange={(range: TimeRange) => commit({ range })} />
                <label className="step-field">
                  <span>Step</span>
                  <input
                    className="input"
                    aria-label="Step"
                    placeholder={result.data ? `auto (${formatDuration(result.data.step)})` : "auto"}
                    value={stepText}
                    aria-invalid={!stepValid}
                    onChange={(e) => setStepText(e.target.value)}
                    onKeyDown={(e) => {
                      if (e.key === "Enter" && stepValid) run();
                    }}
                  />
                </label>
                <span className="spacer" />
                <div className="seg" role="group" aria-label="View">
                  <button type="button" aria-pressed={executed.view === "chart"} onClick={() => commit({ view: "chart" })}>
                    Chart
                  </button>
                  <button type="button" aria-pressed={executed.view === "table"} onClick={() => commit({ view: "table" })}>
                    Table
                  </button>
                </div>
              </div>
              {!stepValid ? <div className="error small">Step is a duration such as 15s, 1m or 1h.</div> : null}
            </div>
          </section>
          {result.isError ? <ErrorBanner error={result.error} /> : null}
          <section className="card" aria-label="Result" aria-busy={result.isFetching}>
            <div className="card-head">
              <h2>Result</h2>
              {result.isFetching ? <Spinner label="Running" /> : null}
              {result.data ? (
                <span className="faint small">
                  {total} series · step {formatDuration(result.data.step)}
                </span>
              ) : null}
            </div>
            <div className="card-body">
              {result.isError && !result.data ? (
                <p className="muted">The query did not run; fix it and run it again.</p>
              ) : null}
              {!executed.query ? (
                <p className="muted">Pick a metric on the left or write a PromQL query, then press Enter.</p>
              ) : total > MAX_SERIES ? (
                <Banner tone="warning">
                  The query returned {total} series; the first {MAX_SERIES} are shown. Narrow it with labels or aggregate
                  it (sum by …).
                </Banner>
              ) : null}
              {executed.query && result.data ? (
                executed.view === "chart" ? (
                  <TimeSeriesChart
                    series={chartSeries}
                    height={360}
                    label="Query result chart"
                    xRange={[result.data.start, result.data.end]}
                  />
                ) : (
                  <ResultTable rows={chartSeries} />
                )
              ) : null}
            </div>
          </section>
        </div>
      </div>
    </>
  );
}
