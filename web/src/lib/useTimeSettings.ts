/**
 * The shared time range of the metrics pages (overview, explorer, agent telemetry): it lives
 * in the address, and the last one chosen is the default of the next page opened without
 * one, so moving between pages keeps the range (as Grafana's picker does).
 */
import { useCallback, useMemo } from "react";
import { useSearchParams } from "react-router";
import { DEFAULT_RANGE, stateFromParams, timeSettingsFromParams, withTimeSettings, type TimeRange, type TimeSettings } from "./timeRange";

const KEY = "agentdeck.timeRange";

function remembered(): TimeRange {
  try {
    const text = window.sessionStorage.getItem(KEY);
    if (!text) return DEFAULT_RANGE;
    return stateFromParams(new URLSearchParams(text)).range;
  } catch {
    return DEFAULT_RANGE;
  }
}

function remember(range: TimeRange): void {
  try {
    window.sessionStorage.setItem(KEY, withTimeSettings(new URLSearchParams(), { range }).toString());
  } catch {
    // storage unavailable (private mode): the address still carries the range
  }
}

export function useTimeSettings(
  accept: (range: TimeRange) => boolean = () => true,
): TimeSettings & { set: (patch: Partial<TimeSettings>) => void } {
  const [params, setParams] = useSearchParams();
  const settings = useMemo(() => {
    const fallback = remembered();
    const s = timeSettingsFromParams(params, accept(fallback) ? fallback : DEFAULT_RANGE);
    return accept(s.range) ? s : { ...s, range: DEFAULT_RANGE };
  }, [params]); // eslint-disable-line react-hooks/exhaustive-deps
  const set = useCallback(
    (patch: Partial<TimeSettings>) => {
      if (patch.range) remember(patch.range);
      setParams((current) => withTimeSettings(current, patch), { replace: !patch.range });
    },
    [setParams],
  );
  return { ...settings, set };
}
