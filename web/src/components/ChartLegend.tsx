/**
 * The legend of a time-series chart as a compact table: one row per series with its last,
 * min, mean and max (or its value under the cursor), a search box once there are many
 * series, and a click on a row to hide or show that series. Its height is capped, so 40
 * series scroll inside the card instead of making it 4,000 px tall.
 */
import { useMemo, useState, type ReactNode } from "react";
import { seriesColor, seriesStats, type ChartSeries } from "../lib/chartData";
import { formatUnit, type Unit } from "../lib/format";

/** Past this many series the legend gets a search box. */
const SEARCH_FROM = 6;

export function ChartLegend({
  series,
  unit,
  label,
  hidden,
  onToggle,
  cursor,
}: {
  series: ChartSeries[];
  unit: Unit;
  label: string;
  hidden: ReadonlySet<number>;
  onToggle: (index: number) => void;
  /** The values under the cursor (one per series) and the time they are at, when hovering. */
  cursor: { time: string; values: (number | null)[] } | null;
}): ReactNode {
  const [search, setSearch] = useState("");
  const stats = useMemo(() => series.map((s) => seriesStats(s.points)), [series]);
  const needle = search.trim().toLowerCase();
  const rows = series
    .map((s, i) => ({ s, i }))
    .filter(({ s }) => !needle || s.label.toLowerCase().includes(needle));
  return (
    <div className="chart-legend">
      {series.length >= SEARCH_FROM ? (
        <input
          className="input input-sm chart-legend-search"
          type="search"
          placeholder={`Search ${series.length} series`}
          aria-label={`Search series of ${label}`}
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
      ) : null}
      <div className="chart-legend-scroll">
        <table className="chart-legend-table" aria-label={`${label} legend`}>
          <thead>
            <tr>
              <th>Series</th>
              <th className="num">{cursor ? cursor.time : "Last"}</th>
              <th className="num">Min</th>
              <th className="num">Avg</th>
              <th className="num">Max</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ s, i }) => {
              const st = stats[i];
              const off = hidden.has(i);
              return (
                <tr key={`${i}-${s.label}`} className={off ? "off" : undefined} aria-disabled={off || undefined}>
                  <td className="chart-legend-name">
                    <button
                      type="button"
                      onClick={() => onToggle(i)}
                      aria-pressed={!off}
                      title={off ? "Show this series" : "Hide this series"}
                    >
                      <span
                        className="swatch"
                        style={{ background: seriesColor(i), ...(s.dashed ? { opacity: 0.6 } : {}) }}
                      />
                      <span className="chart-legend-label">{s.label}</span>
                    </button>
                  </td>
                  <td className="num">{formatUnit(cursor ? (cursor.values[i] ?? null) : st?.last, unit)}</td>
                  <td className="num">{formatUnit(st?.min, unit)}</td>
                  <td className="num">{formatUnit(st?.avg, unit)}</td>
                  <td className="num">{formatUnit(st?.max, unit)}</td>
                </tr>
              );
            })}
            {rows.length === 0 ? (
              <tr>
                <td colSpan={5} className="faint">
                  No series matches
                </td>
              </tr>
            ) : null}
          </tbody>
        </table>
      </div>
    </div>
  );
}
