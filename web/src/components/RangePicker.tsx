/** Relative (15m … 7d) or absolute time range, as a segmented control with from/to inputs. */
import { useState, type ReactNode } from "react";
import { fromLocalInput, RELATIVE_RANGES, resolveRange, toLocalInput, type TimeRange } from "../lib/timeRange";

function keyOf(range: TimeRange): string {
  return range.kind === "relative" ? range.range : `${range.from}-${range.to}`;
}

export function RangePicker({
  value,
  onChange,
  allowAbsolute = true,
  presets = RELATIVE_RANGES,
}: {
  value: TimeRange;
  onChange: (range: TimeRange) => void;
  allowAbsolute?: boolean;
  presets?: readonly string[];
}): ReactNode {
  const [custom, setCustom] = useState(value.kind === "absolute");
  const [start, end] = resolveRange(value);
  const [from, setFrom] = useState(toLocalInput(start));
  const [to, setTo] = useState(toLocalInput(end));
  // A range set from outside (a zoom, a link) shows in the inputs.
  const [seen, setSeen] = useState(keyOf(value));
  if (seen !== keyOf(value)) {
    setSeen(keyOf(value));
    if (value.kind === "absolute") {
      setCustom(true);
      setFrom(toLocalInput(value.from));
      setTo(toLocalInput(value.to));
    }
  }
  const fromS = fromLocalInput(from);
  const toS = fromLocalInput(to);
  const valid = fromS !== null && toS !== null && fromS < toS;

  return (
    <div className="range-picker">
      <div className="seg" role="group" aria-label="Time range">
        {presets.map((r) => (
          <button
            key={r}
            type="button"
            aria-pressed={!custom && value.kind === "relative" && value.range === r}
            onClick={() => {
              setCustom(false);
              onChange({ kind: "relative", range: r });
            }}
          >
            {r}
          </button>
        ))}
        {allowAbsolute ? (
          <button type="button" aria-pressed={custom} onClick={() => setCustom(true)}>
            Custom
          </button>
        ) : null}
      </div>
      {custom ? (
        <div className="range-abs">
          <label>
            <span>From</span>
            <input className="input" type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
          </label>
          <label>
            <span>To</span>
            <input className="input" type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
          </label>
          <button
            type="button"
            className="btn btn-sm"
            disabled={!valid}
            onClick={() => {
              if (fromS !== null && toS !== null) onChange({ kind: "absolute", from: fromS, to: toS });
            }}
          >
            Apply
          </button>
        </div>
      ) : null}
    </div>
  );
}
