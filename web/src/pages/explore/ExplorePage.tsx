/**
 * The metrics explorer: pick a metric (with search), narrow it by label, or write PromQL
 * (with completion of metric and label names); run it over a relative or absolute range;
 * see a chart or a table. The executed query, range, step and view live in the address, so
 * the URL can be shared and reopening it runs the query again.
 */
import { useQueries, useQuery } from "@tanstack/react-query";
import { useMemo, useState, type ReactNode } from "react";
import { QueryEditor } from "./QueryEditor";
import { useSearchParams } from "react-router";
import { toChartSeries } from "../../api/prom";
import { metricNamesQuery, metricSeriesQuery, rangeQuery } from "../../api/telemetry";
import { Icon } from "../../components/Icon";
import { TimePicker } from "../../components/TimePicker";
import { TimeSeriesChart } from "../../components/TimeSeriesChart";
import { seriesColor, seriesStats, type ChartSeries } from "../../lib/chartData";
import { Banner, CopyButton, ErrorBanner, PageHead, Spinner } from "../../components/ui";
import { formatUnit } from "../../lib/format";
import { formatClock } from "../../lib/timeZone";
import { useTimeSettings } from "../../lib/useTimeSettings";
import { buildSelector, parseSelector } from "../../lib/promqlComplete";
import {
  formatDuration,
  paramsFromState,
  parseDuration,
  stateFromParams,
  withTimeSettings,
  type ExploreState,
  type TimeRange,
  type TimeSettings,
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

function ResultTable({ rows, utc }: { rows: ChartSeries[]; utc: boolean }): ReactNode {
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Query result">
        <thead>
          <tr>
            <th>Series</th>
            <th className="num">Last</th>
            <th className="num">Min</th>
            <th className="num">Avg</th>
            <th className="num">Max</th>
            <th>At</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => {
            const st = seriesStats(r.points);
            const last = r.points[r.points.length - 1];
            return (
              <tr key={`${i}-${r.label}`}>
                <td className="mono small series-cell">
                  <span className="swatch" style={{ background: seriesColor(i) }} />
                  {r.label}
                </td>
                <td className="num">{formatUnit(st.last)}</td>
                <td className="num">{formatUnit(st.min)}</td>
                <td className="num">{formatUnit(st.avg)}</td>
                <td className="num">{formatUnit(st.max)}</td>
                <td className="small nowrap">{last ? formatClock(last[0], utc) : "—"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** The series of every query, named by query letter when there are several. */
function combine(queries: string[], results: { data?: RangeResultLike }[]): ChartSeries[] {
  return results.flatMap((r, q) => {
    if (!r.data) return [];
    return toChartSeries(r.data.data).map((s) => {
      const name = s.label === "{}" ? (queries[q] ?? "") : s.label;
      return { label: queries.length > 1 ? `${LETTERS[q] ?? q}: ${name}` : s.label, points: s.points };
    });
  });
}

type RangeResultLike = { data: Parameters<typeof toChartSeries>[0]; start: number; end: number; step: number };

export function ExplorePage(): ReactNode {
  const [params, setParams] = useSearchParams();
  const time = useTimeSettings();
  const parsed = useMemo(() => stateFromParams(params), [params]);
  // No range in the address: the range last chosen on any metrics page.
  const executed = useMemo(() => ({ ...parsed, range: time.range }), [parsed, time.range]);
  const [draft, setDraft] = useState(executed.query);
  const [stepText, setStepText] = useState(executed.step === null ? "" : formatDuration(executed.step));
  const [extraDraft, setExtraDraft] = useState<string[]>(executed.extra ?? []);
  const [beforeZoom, setBeforeZoom] = useState<TimeRange | null>(null);
  // The label panel follows the query that ran (typed or picked), never a stale pick.
  const selector = useMemo(() => parseSelector(executed.query), [executed.query]);
  const picked = selector?.metric ?? "";
  const filters = selector?.filters ?? {};
  const stepValid = stepText.trim() === "" || parseDuration(stepText) !== null;

  /** The address for a state, keeping the shared time zone and refresh settings. */
  const addressOf = (state: ExploreState): URLSearchParams =>
    withTimeSettings(paramsFromState(state), { utc: time.utc, refresh: time.refresh });
  const commit = (patch: Partial<ExploreState>): void => {
    setParams(addressOf({ ...executed, ...patch }));
  };

  const queries = [executed.query, ...(executed.extra ?? [])].filter((q) => q.trim() !== "");
  const results = useQueries({
    queries: queries.map((q) => ({
      ...rangeQuery(q, executed.range, executed.step),
      refetchInterval: executed.range.kind === "relative" && time.refresh ? time.refresh * 1000 : (false as const),
    })),
  });

  const result = {
    data: results.find((r) => r.data)?.data,
    isError: results.some((r) => r.isError),
    error: results.find((r) => r.error)?.error ?? null,
    isFetching: results.some((r) => r.isFetching),
    dataUpdatedAt: Math.max(0, ...results.map((r) => r.dataUpdatedAt)),
    refetch: () => results.forEach((r) => void r.refetch()),
  };

  const run = (query = draft, extra = extraDraft): void => {
    const step = stepText.trim() ? parseDuration(stepText) : null;
    const next = { ...executed, query: query.trim(), extra: extra.map((q) => q.trim()).filter(Boolean), step };
    if (addressOf(next).toString() === params.toString()) result.refetch();
    else setParams(addressOf(next));
  };

  const pick = (name: string): void => {
    setDraft(name);
    setExtraDraft([]);
    run(name, []);
  };

  const changeFilters = (next: Record<string, string>): void => {
    const query = buildSelector(picked, next);
    setDraft(query);
    run(query);
  };

  const changeTime = (patch: Partial<TimeSettings>): void => {
    if (patch.range) setBeforeZoom(null);
    time.set(patch);
  };
  const zoomTo = ([from, to]: [number, number]): void => {
    setBeforeZoom((prev) => prev ?? executed.range);
    commit({ range: { kind: "absolute", from, to } });
  };

  const queriesKey = queries.join("\n");
  const dataKey = results.map((r) => r.dataUpdatedAt).join(",");
  // results is a new array on every render; its data changes only with dataUpdatedAt
  const allSeries = useMemo(() => combine(queries, results), [queriesKey, dataKey]); // eslint-disable-line react-hooks/exhaustive-deps
  const chartSeries = useMemo(() => allSeries.slice(0, MAX_SERIES), [allSeries]);
  const total = allSeries.length;
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
                <div className="stack query-stack">
                  <QueryEditor value={draft} onChange={setDraft} onRun={() => run()} />
                  {extraDraft.map((q, i) => (
                    <div className="row extra-query" key={i}>
                      <span className="mono faint">{LETTERS[i + 1]}</span>
                      <textarea
                        className="textarea code"
                        rows={1}
                        spellCheck={false}
                        aria-label={`Query ${LETTERS[i + 1] ?? i + 2}`}
                        value={q}
                        onChange={(e) => setExtraDraft(extraDraft.map((x, k) => (k === i ? e.target.value : x)))}
                        onKeyDown={(e) => {
                          if (e.key === "Enter" && !e.shiftKey) {
                            e.preventDefault();
                            run();
                          }
                        }}
                      />
                      <button
                        type="button"
                        className="btn btn-sm"
                        aria-label={`Remove query ${LETTERS[i + 1] ?? i + 2}`}
                        onClick={() => {
                          const next = extraDraft.filter((_, k) => k !== i);
                          setExtraDraft(next);
                          run(draft, next);
                        }}
                      >
                        ×
                      </button>
                    </div>
                  ))}
                  <div>
                    <button type="button" className="btn btn-sm" onClick={() => setExtraDraft([...extraDraft, ""])}>
                      Add query
                    </button>
                  </div>
                </div>
                <button type="button" className="btn btn-primary" onClick={() => run()} disabled={!draft.trim() || !stepValid}>
                  <Icon name="refresh" /> Run query
                </button>
              </div>
              <div className="row explore-controls">
                <TimePicker
                  settings={{ range: executed.range, utc: time.utc, refresh: time.refresh }}
                  onChange={changeTime}
                  updatedAt={result.dataUpdatedAt || undefined}
                  onRefreshNow={() => result.refetch()}
                />
                {beforeZoom ? (
                  <button
                    type="button"
                    className="btn btn-sm"
                    onClick={() => {
                      commit({ range: beforeZoom });
                      setBeforeZoom(null);
                    }}
                  >
                    Reset zoom
                  </button>
                ) : null}
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
                    utc={time.utc}
                    onZoom={zoomTo}
                  />
                ) : (
                  <ResultTable rows={chartSeries} utc={time.utc} />
                )
              ) : null}
            </div>
          </section>
        </div>
      </div>
    </>
  );
}
