/** A list page's filters, kept in the address (a link or a reload shows the same list), and the
 * text inputs that type into them. */
import { useEffect, useRef, useState } from "react";
import { useSearchParams } from "react-router";

import { useDebounced } from "./useDebounced";

/** Filters are strings by name; an empty string means "no filter". */
type StringFields<F> = { [K in keyof F]: string };

export interface UrlFilters<F> {
  /** The filters the address holds, as `parse` reads them. */
  filters: F;
  /** Change some filters: the address keeps every filter that is set and not its default. */
  update: (patch: Partial<F>) => void;
  /** Drop every filter from the address. */
  clear: () => void;
}

/**
 * `parse` reads the filters from the address (and turns values it does not know into its
 * defaults); `update` writes them back in `parse`'s key order, leaving out empty values and
 * those equal to `defaults`, and replaces the history entry. Updates made before the address
 * has changed (two inputs settling at once) add up.
 */
export function useUrlFilters<F extends StringFields<F>>(
  parse: (params: URLSearchParams) => F,
  defaults: Partial<F> = {},
): UrlFilters<F> {
  const [params, setParams] = useSearchParams();
  const filters = parse(params);
  const latest = useRef(filters);
  useEffect(() => {
    latest.current = filters;
  });
  const update = (patch: Partial<F>): void => {
    const next = { ...latest.current, ...patch };
    latest.current = next;
    const out = new URLSearchParams();
    for (const key of Object.keys(next) as (keyof F & string)[]) {
      const value = next[key];
      if (value && value !== defaults[key]) out.set(key, value);
    }
    setParams(out, { replace: true });
  };
  const clear = (): void => {
    latest.current = parse(new URLSearchParams());
    setParams(new URLSearchParams(), { replace: true });
  };
  return { filters, update, clear };
}

/**
 * The text of a filter's input: it follows the keystrokes, and once it has not changed for
 * `delay` ms and differs from `value` (the filter in the address) it goes to `onSettle`.
 * Returns the text and its setter (a page's "Clear" empties it).
 */
export function useFilterText(
  value: string,
  onSettle: (text: string) => void,
  delay?: number,
): [string, (text: string) => void] {
  const [text, setText] = useState(value);
  const settled = useDebounced(text, delay);
  useEffect(() => {
    // Checked when the text settles, and when it is typed back to what had settled before
    // (cleared, then the same text again: the settled value never changed).
    if (settled === text && settled !== value) onSettle(settled);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only when the typing settles
  }, [settled, text]);
  return [text, setText];
}
