/**
 * Search and tail logs: the query bar, the range (presets or from/to), the severity histogram
 * (drag to zoom), the virtualised list with older pages on demand, the context of a line, and
 * the live tail over the page's WebSocket. The state (query, range, live) belongs to the caller:
 * the Logs page keeps it in the address, an agent's Logs tab in memory.
 */
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { logHistogramQuery, logSearchQuery, queryErrorPosition, tailFrame, type LogLine } from "../../api/logs";
import { ApiError } from "../../api/problem";
import { withMatcher } from "../../lib/logql";
import { EMPTY_TAIL, listRows, receive, resume, type TailState } from "../../lib/logTail";
import { LIVE_RANGE, LOG_PRESETS, logsHref, rangeKey, zoomRange, type LogsViewState } from "../../lib/logsUrl";
import type { TimeRange } from "../../lib/timeRange";
import { useChannel, useLiveConnection } from "../../lib/wsHooks";
import { Icon } from "../Icon";
import { RangePicker } from "../RangePicker";
import { CopyButton, ErrorBanner, Spinner } from "../ui";
import { LogContextDialog } from "./LogContextDialog";
import { LogHistogram } from "./LogHistogram";
import { LogList } from "./LogList";
import { LogQueryBar } from "./LogQueryBar";
import { LogsEmpty } from "./LogsEmpty";
import "./logs.css";

/** Subscribes to the `logs` channel while mounted (only in live mode) and shows the socket's state. */
function LiveTail({ query, onFrame }: { query: string; onFrame: (data: unknown) => void }): ReactNode {
  const status = useLiveConnection();
  useChannel("logs", { onEvent: onFrame }, query.trim() ? { query } : {});
  return (
    <span className={`badge ${status === "live" ? "badge-ok" : "badge-muted"}`} data-live={status}>
      <span className="dot" aria-hidden="true" />
      {status === "live" ? "tailing" : status}
    </span>
  );
}

function seconds(iso: string): number {
  return Date.parse(iso) / 1000;
}

export function LogsExplorer({
  state,
  onChange,
  listHeight = "calc(100vh - 360px)",
  actions,
}: {
  state: LogsViewState;
  onChange: (next: LogsViewState) => void;
  listHeight?: number | string;
  /** Extra buttons beside Refresh and Copy link. */
  actions?: ReactNode;
}): ReactNode {
  const [draft, setDraft] = useState(state.query);
  const [run, setRun] = useState(0);
  const [context, setContext] = useState<LogLine | null>(null);
  const [tail, setTail] = useState<TailState>(EMPTY_TAIL);
  const [atTop, setAtTop] = useState(true);
  const scroller = useRef<HTMLDivElement>(null);

  // A new query, range, run or live state starts from a fresh search and an empty tail; a query
  // set from outside (a link, the back button) shows in the bar.
  const view = `${state.query}\n${rangeKey(state.range)}\n${run}\n${state.live}`;
  const [seenView, setSeenView] = useState(view);
  const [seenQuery, setSeenQuery] = useState(state.query);
  if (seenView !== view) {
    setSeenView(view);
    setTail(EMPTY_TAIL);
  }
  if (seenQuery !== state.query) {
    setSeenQuery(state.query);
    setDraft(state.query);
  }

  const search = useInfiniteQuery(logSearchQuery(state.query, state.range, run));
  const first = search.data?.pages[0];
  const histogram = useQuery(logHistogramQuery(state.query, first?.start, first?.end));
  const span = useMemo<[number, number] | null>(
    () => (first ? [seconds(first.start), seconds(first.end)] : null),
    [first],
  );
  const searched = useMemo(() => search.data?.pages.flatMap((p) => p.items) ?? [], [search.data]);
  const rows = useMemo(() => listRows(tail, searched), [tail, searched]);

  const paused = state.live && !atTop;
  const pausedRef = useRef(paused);
  useEffect(() => {
    pausedRef.current = paused;
  }, [paused]);
  const onFrame = useCallback((data: unknown) => {
    const frame = tailFrame(data);
    setTail((t) => receive(t, frame, pausedRef.current));
  }, []);

  const change = (patch: Partial<LogsViewState>): void => {
    const next = { ...state, ...patch };
    if (next.query === state.query && rangeKey(next.range) === rangeKey(state.range) && next.live === state.live) {
      setRun((r) => r + 1);
    } else onChange(next);
  };
  const runDraft = (): void => change({ query: draft.trim() });
  const filter = (name: string, value: string): void => change({ query: withMatcher(state.query, name, value) });
  const setRange = (range: TimeRange): void =>
    change({ range, live: range.kind === "relative" ? state.live : false });
  const toggleLive = (): void => {
    // turning it on searches again, so the tail starts right above fresh results
    if (!state.live) setRun((r) => r + 1);
    if (state.live) change({ live: false });
    else change({ live: true, range: state.range.kind === "relative" ? state.range : LIVE_RANGE });
  };
  const backToTop = (): void => {
    scroller.current?.scrollTo({ top: 0 });
    setAtTop(true);
    setTail((t) => resume(t));
  };

  const topChange = useCallback((top: boolean) => {
    setAtTop(top);
    if (top) setTail((t) => resume(t));
  }, []);
  const { fetchNextPage } = search;
  const loadMore = useCallback(() => {
    void fetchNextPage();
  }, [fetchNextPage]);

  const refused =
    search.error instanceof ApiError && search.error.status >= 400 && search.error.status < 500 ? search.error : null;
  const errorPosition = queryErrorPosition(search.error);
  const origin = typeof window === "undefined" ? "" : window.location.origin;
  const lineCount = rows.filter((r) => r.kind === "line").length;

  return (
    <div className="stack logs-explorer">
      <section className="card" aria-label="Log search">
        <div className="card-body stack" style={{ gap: 12 }}>
          <LogQueryBar
            value={draft}
            onChange={setDraft}
            onRun={runDraft}
            range={state.range}
            error={refused}
            errorPosition={errorPosition}
            errorQuery={state.query}
          />
          <div className="row log-controls">
            <RangePicker value={state.range} onChange={setRange} presets={LOG_PRESETS} />
            <div className="log-controls-end">
              <button
                type="button"
                className={`btn btn-sm live-toggle${state.live ? " on" : ""}`}
                aria-pressed={state.live}
                onClick={toggleLive}
                title={state.live ? "Stop tailing" : "Tail new lines as they arrive"}
              >
                <span className="live-dot" aria-hidden="true" /> Live
              </button>
              {state.live ? <LiveTail query={state.query} onFrame={onFrame} /> : null}
              {search.isFetching && !search.isFetchingNextPage ? <Spinner label="Searching" /> : null}
              <button type="button" className="btn btn-sm" onClick={() => setRun((r) => r + 1)}>
                <Icon name="refresh" /> Refresh
              </button>
              <CopyButton text={`${origin}${logsHref(state)}`} label="Copy link" />
              {actions}
            </div>
          </div>
        </div>
        {histogram.data && span && histogram.data.buckets.length > 0 ? (
          <div className="card-body log-histogram-body">
            <LogHistogram
              histogram={histogram.data}
              range={span}
              onZoom={(from, to) => {
                const range = zoomRange(from, to);
                if (range) change({ range, live: false });
              }}
              onSeverity={(severity) => filter("severity", severity)}
            />
          </div>
        ) : null}
        {histogram.isError ? (
          <div className="card-body">
            <ErrorBanner error={histogram.error} onRetry={() => void histogram.refetch()} />
          </div>
        ) : null}
      </section>

      <section className="card log-results" aria-label="Results" aria-busy={search.isFetching}>
        <div className="card-head">
          <h2>Lines</h2>
          <span className="faint small" data-count={lineCount}>
            {lineCount.toLocaleString("en")} shown
            {first ? ` · ${new Date(first.start).toLocaleString("en")} – ${new Date(first.end).toLocaleString("en")}` : ""}
          </span>
        </div>
        {search.isError && !refused ? (
          <div className="card-body">
            <ErrorBanner error={search.error} onRetry={() => void search.refetch()} />
          </div>
        ) : null}
        {state.live && (paused || tail.pendingLines > 0) ? (
          <div className="log-paused" role="status">
            <button type="button" className="btn btn-sm btn-primary" onClick={backToTop}>
              <Icon name="arrowUp" />
              {tail.pendingLines > 0
                ? `${tail.pendingLines.toLocaleString("en")} new line${tail.pendingLines === 1 ? "" : "s"} — resume`
                : "Paused — back to the newest"}
            </button>
          </div>
        ) : null}
        {search.isPending && !refused ? (
          <div className="center-fill" style={{ minHeight: 240 }}>
            <Spinner />
          </div>
        ) : rows.length === 0 ? (
          refused ? (
            <p className="muted card-body">Fix the query and run it again.</p>
          ) : search.isSuccess ? (
            <LogsEmpty
              filtered={state.query.trim() !== ""}
              onWiden={() => change({ range: { kind: "relative", range: "7d" } })}
            />
          ) : null
        ) : (
          <LogList
            rows={rows}
            height={listHeight}
            scrollRef={scroller}
            hasMore={search.hasNextPage}
            loadingMore={search.isFetchingNextPage}
            onLoadMore={loadMore}
            onTopChange={topChange}
            onFilter={filter}
            onContext={setContext}
          />
        )}
      </section>
      <LogContextDialog line={context} onClose={() => setContext(null)} />
    </div>
  );
}
