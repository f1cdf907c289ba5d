/**
 * The live overview (the landing page): headline tiles, alert strip, live charts, the agent
 * table and the call graph. Loaded once over REST, then kept current by WebSocket events —
 * never by a timer: metric frames update the table and charts directly and trigger a
 * throttled refresh of the window figures; alert and fleet events refresh what they touch.
 */
import { useInfiniteQuery, useQuery, useQueryClient, type QueryKey } from "@tanstack/react-query";
import { lazy, Suspense, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useSearchParams } from "react-router";
import { TimeSeriesChart } from "../../components/TimeSeriesChart";
import { ErrorBanner, PageHead, Spinner } from "../../components/ui";
import type { ChartSeries } from "../../lib/chartData";
import type { ConnectionStatus } from "../../lib/ws";
import { useChannel, useLiveConnection } from "../../lib/wsHooks";
import type { TimeRange, TimeSettings } from "../../lib/timeRange";
import { useTimeSettings } from "../../lib/useTimeSettings";
import { TimePicker } from "../../components/TimePicker";
import { QueryStates } from "../../components/QueryStates";
import { AgentTable } from "./AgentTable";
import { appendPoint, LiveFleet, throttle, type LiveSample } from "./live";
import {
  monitoringAgentsQuery,
  overviewKeys,
  overviewQuery,
  topologyQuery,
  trendQuery,
  WINDOWS,
  type PerformanceTrend,
} from "../../api/overview";
import { fmt } from "../../lib/format";
import { AlertStrip, ConnectionIndicator, HeadlineTile, TileFailure, type TileState } from "./Tiles";
import "./overview.css";
import { TableFoot } from "../../components/TableFoot";

// The graph library is large: load it with the graph, not with the app.
const TopologyGraph = lazy(() => import("./TopologyGraph").then((m) => ({ default: m.TopologyGraph })));

/** Least time between two event-triggered refreshes of the headline figures. */
const OVERVIEW_REFRESH_MS = 1_000;
/** ... and of the agent table and the call graph (heavier). */
const TABLE_REFRESH_MS = 15_000;

type Points = [number, number | null][];

/** Invalidate queries under `prefixes` at most once per `gapMs` (see `throttle`). */
function useThrottledRefresh(prefixes: readonly QueryKey[], gapMs: number): () => void {
  const client = useQueryClient();
  const key = JSON.stringify(prefixes);
  const throttled = useMemo(() => {
    const keys = JSON.parse(key) as QueryKey[];
    return throttle(() => {
      for (const queryKey of keys) void client.invalidateQueries({ queryKey });
    }, gapMs);
  }, [client, key, gapMs]);
  useEffect(() => () => throttled.cancel(), [throttled]);
  return throttled.call;
}

function trendSeries(trend: PerformanceTrend | undefined, live: Points, label: string): ChartSeries[] {
  if (!trend) return [];
  const toPoints = (items: PerformanceTrend["current_series"]): Points =>
    items.map((p) => [Date.parse(p.t) / 1000, p.v ?? null]);
  const current = toPoints(trend.current_series);
  const last = current.length ? (current[current.length - 1]?.[0] ?? 0) : 0;
  const fresh = live.filter(([t]) => t > last);
  return [
    { label, points: [...current, ...fresh] },
    { label: "previous window", points: toPoints(trend.previous_series) },
  ];
}

const isWindow = (range: TimeRange): boolean => range.kind === "relative" && (WINDOWS as readonly string[]).includes(range.range);

export function OverviewPage(): ReactNode {
  const [params, setParams] = useSearchParams();
  // The shared time range, limited to the windows the overview aggregates over; the older
  // `?window=` address still works.
  const time = useTimeSettings(isWindow);
  const legacy = params.get("window");
  const window =
    legacy && (WINDOWS as readonly string[]).includes(legacy) && !params.has("range")
      ? legacy
      : time.range.kind === "relative"
        ? time.range.range
        : "1h";
  const sort = params.get("sort") ?? "name";
  const client = useQueryClient();
  const status = useLiveConnection();

  const overview = useQuery(overviewQuery(window));
  const agents = useInfiniteQuery(monitoringAgentsQuery(window, sort));
  const topology = useQuery(topologyQuery(window));
  const requests = useQuery(trendQuery("request_rate", window));
  const errors = useQuery(trendQuery("error_rate", window));

  const fleet = useRef(new LiveFleet());
  const [, setTick] = useState(0);
  // Live chart points of the window they were collected for (a new window starts afresh).
  const [collected, setLive] = useState<{ window: string; requests: Points; errors: Points }>({
    window,
    requests: [],
    errors: [],
  });
  const live = collected.window === window ? collected : { window, requests: [], errors: [] };

  const refreshOverview = useThrottledRefresh([overviewKeys.summaries], OVERVIEW_REFRESH_MS);
  const refreshTables = useThrottledRefresh(
    [overviewKeys.agentLists, overviewKeys.topologies],
    TABLE_REFRESH_MS,
  );

  useChannel(
    "metrics",
    {
      onEvent: (data) => {
        const samples = (data as { samples?: LiveSample[] }).samples ?? [];
        if (samples.length === 0) return;
        fleet.current.ingest(samples);
        setTick((n) => n + 1);
        const figures = fleet.current.fleet();
        if (figures) {
          const t = Date.now() / 1000;
          const span = overview.data?.window_seconds ?? 3600;
          setLive((prev) => {
            const base = prev.window === window ? prev : { window, requests: [], errors: [] };
            return {
              window,
              requests: appendPoint(base.requests, [t, figures.requestRate], span),
              errors: appendPoint(base.errors, [t, figures.errorRate], span),
            };
          });
        }
        refreshOverview();
        refreshTables();
      },
    },
    { interval: 0.5 },
  );
  useChannel("alerts", { onEvent: refreshOverview });
  useChannel("fleet", {
    onEvent: () => {
      void client.invalidateQueries({ queryKey: overviewKeys.all });
    },
  });

  // Back from a lost connection: events may have been missed, so reload once.
  const previous = useRef<ConnectionStatus>(status);
  useEffect(() => {
    if (status === "live" && previous.current === "reconnecting") {
      void client.invalidateQueries({ queryKey: overviewKeys.all });
    }
    previous.current = status;
  }, [status, client]);

  const setParam = (key: string, value: string, fallback: string): void => {
    const next = new URLSearchParams(params);
    if (value === fallback) next.delete(key);
    else next.set(key, value);
    setParams(next, { replace: true });
  };

  const o = overview.data;
  const summaryState: TileState = {
    pending: overview.isPending,
    error: overview.isError,
    retry: () => void overview.refetch(),
  };
  const changeTime = (patch: Partial<TimeSettings>): void => {
    if (patch.range && params.has("window")) {
      const next = new URLSearchParams(params);
      next.delete("window");
      setParams(next, { replace: true });
    }
    time.set(patch);
  };
  const rows = agents.data?.pages.flatMap((p) => p.items) ?? [];
  const requestSeries = useMemo(() => trendSeries(requests.data, live.requests, "requests/s"), [requests.data, live.requests]);
  const errorSeries = useMemo(() => trendSeries(errors.data, live.errors, "error rate"), [errors.data, live.errors]);

  return (
    <div className="ov-page">
      <PageHead
        title="Overview"
        subtitle="The fleet right now, against the window before."
        actions={
          <>
            <ConnectionIndicator status={status} />
            <TimePicker
              settings={{ ...time, range: { kind: "relative", range: window } }}
              onChange={changeTime}
              presets={WINDOWS}
              allowAbsolute={false}
              allowZoomOut={false}
              allowRefresh={false}
              updatedAt={overview.dataUpdatedAt || undefined}
            />
          </>
        }
      />
      <ErrorBanner error={overview.error ?? topology.error} onRetry={() => void client.invalidateQueries({ queryKey: overviewKeys.all })} />
      <div className="ov-tiles">
        <div className="ov-tile card" data-testid="tile-agents">
          <div className="ov-tile-title">Agents</div>
          {o ? (
            <>
              <div className="ov-tile-value">{`${o.agents.by_status.running ?? 0}/${o.agents.total}`}</div>
              <div className="ov-trend faint">
                running
                {(o.agents.by_status.error ?? 0) > 0 ? <span className="error"> · {o.agents.by_status.error} failing</span> : null}
              </div>
            </>
          ) : overview.isError ? (
            <TileFailure retry={summaryState.retry} />
          ) : (
            <div className="ov-tile-value">
              <Spinner />
            </div>
          )}
        </div>
        <HeadlineTile title="Ingest rate" testId="tile-ingest" state={summaryState} headline={o?.ingest_rate} format={fmt.rate} />
        <HeadlineTile title="Requests" testId="tile-requests" state={summaryState} headline={o?.request_rate} format={fmt.rate} goodWhenUp />
        <HeadlineTile title="Error rate" testId="tile-errors" state={summaryState} headline={o?.error_rate} format={fmt.percent} goodWhenUp={false} />
        <HeadlineTile title="p95 latency" testId="tile-latency" state={summaryState} headline={o?.p95_latency_seconds} format={fmt.seconds} goodWhenUp={false} />
        <HeadlineTile title={`Tokens (${window})`} testId="tile-tokens" state={summaryState} headline={o?.tokens} format={fmt.count} />
        <HeadlineTile title={`Cost (${window})`} testId="tile-cost" state={summaryState} headline={o?.cost_usd} format={fmt.usd} goodWhenUp={false} />
      </div>
      <AlertStrip
        items={o?.alerts.recent ?? []}
        active={o ? o.alerts.active : null}
        suppressed={o?.alerts.suppressed ?? 0}
        bySeverity={o?.alerts.by_severity ?? {}}
        state={summaryState}
      />
      <div className="grid-2">
        <section className="card chart-card" aria-label="Request rate chart">
          <div className="card-head">
            <h2>Fleet requests per second</h2>
          </div>
          <div className="card-body">
            <TimeSeriesChart series={requestSeries} height={200} unit="rate" label="Fleet request rate" utc={time.utc} />
          </div>
        </section>
        <section className="card chart-card" aria-label="Error rate chart">
          <div className="card-head">
            <h2>Fleet error rate</h2>
          </div>
          <div className="card-body">
            <TimeSeriesChart series={errorSeries} height={200} unit="ratio" label="Fleet error ratio" utc={time.utc} />
          </div>
        </section>
      </div>
      <AgentTable
        agents={rows}
        live={(name) => fleet.current.agent(name)}
        sort={sort}
        onSort={(s) => setParam("sort", s, "name")}
        window={window}
        states={
          agents.isPending || (agents.isError && rows.length === 0) ? (
            <QueryStates query={agents} isEmpty={rows.length === 0} minHeight={120}>
              {null}
            </QueryStates>
          ) : agents.isError ? (
            <QueryStates query={agents} isEmpty={false}>
              {null}
            </QueryStates>
          ) : null
        }
        footer={
          agents.isPending || agents.isError ? null : (
            <TableFoot query={agents} count={rows.length} noun={["agent", "agents"]} />
          )
        }
      />
      <section className="card" aria-label="Topology">
        <div className="card-head">
          <h2>Calls between agents and services</h2>
          <span className="small faint">solid: reported calls · dashed: declared only · colour: health</span>
        </div>
        <div className="card-body">
          <Suspense fallback={<Spinner />}>
            {topology.data ? (
              <TopologyGraph topology={topology.data} />
            ) : topology.isError ? (
              <TileFailure retry={() => void topology.refetch()} />
            ) : (
              <Spinner />
            )}
          </Suspense>
        </div>
      </section>
    </div>
  );
}
