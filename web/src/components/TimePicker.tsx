/**
 * The one time-range picker of the metrics pages: relative presets, an absolute range, zoom
 * out, local time or UTC, an auto-refresh interval and when the data was last updated. Its
 * state is the address's (see useTimeSettings), so a link reopens the same view.
 */
import type { ReactNode } from "react";
import { formatClock } from "../lib/timeZone";
import { REFRESH_INTERVALS, RELATIVE_RANGES, formatDuration, parseDuration, zoomOut, type TimeSettings } from "../lib/timeRange";
import { Icon } from "./Icon";
import { RangePicker } from "./RangePicker";

export function TimePicker({
  settings,
  onChange,
  presets = RELATIVE_RANGES,
  allowAbsolute = true,
  allowZoomOut = true,
  allowRefresh = true,
  updatedAt,
  onRefreshNow,
}: {
  settings: TimeSettings;
  onChange: (patch: Partial<TimeSettings>) => void;
  presets?: readonly string[];
  allowAbsolute?: boolean;
  allowZoomOut?: boolean;
  allowRefresh?: boolean;
  /** When the shown data was fetched (ms); shown as "Updated 12:03:04". */
  updatedAt?: number;
  onRefreshNow?: () => void;
}): ReactNode {
  return (
    <div className="time-picker" role="toolbar" aria-label="Time settings">
      <RangePicker
        value={settings.range}
        onChange={(range) => onChange({ range })}
        presets={presets}
        allowAbsolute={allowAbsolute}
      />
      {allowZoomOut ? (
        <button
          type="button"
          className="btn btn-sm"
          title="Twice the span around the same middle"
          onClick={() => onChange({ range: zoomOut(settings.range) })}
        >
          Zoom out
        </button>
      ) : null}
      <div className="seg" role="group" aria-label="Time zone">
        <button type="button" aria-pressed={!settings.utc} onClick={() => onChange({ utc: false })}>
          Local
        </button>
        <button type="button" aria-pressed={settings.utc} onClick={() => onChange({ utc: true })}>
          UTC
        </button>
      </div>
      {allowRefresh ? (
        <span className="refresh-field">
          {onRefreshNow ? (
            <button type="button" className="btn btn-sm" aria-label="Refresh now" onClick={onRefreshNow}>
              <Icon name="refresh" />
            </button>
          ) : null}
          <select
            className="select input-sm"
            aria-label="Auto-refresh"
            value={settings.refresh === null ? "" : formatDuration(settings.refresh)}
            onChange={(e) => onChange({ refresh: e.target.value ? parseDuration(e.target.value) : null })}
          >
            <option value="">Auto-refresh off</option>
            {REFRESH_INTERVALS.map((r) => (
              <option key={r} value={r}>
                Every {r}
              </option>
            ))}
          </select>
        </span>
      ) : null}
      {updatedAt ? (
        <span className="faint small nowrap" data-testid="last-updated">
          Updated {formatClock(updatedAt / 1000, settings.utc)}
        </span>
      ) : null}
    </div>
  );
}
