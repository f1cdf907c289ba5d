/**
 * The result list: only the rows in view are in the DOM (@tanstack/react-virtual), rows grow
 * when expanded, older pages load when the end comes into view (or with the button), and the
 * parent hears whether the reader is at the top (the live tail pauses otherwise).
 */
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useRef, useState, type ReactNode, type RefObject } from "react";
import type { LogLine } from "../../api/logs";
import type { LogRow } from "../../lib/logTail";
import { Banner, Spinner } from "../ui";
import { LogRowView, type FilterHandler } from "./LogRow";

/** Within this many pixels of the top counts as "at the top". */
const TOP_SLACK = 6;

export function LogList({
  rows,
  height,
  hasMore,
  loadingMore,
  onLoadMore,
  onTopChange,
  onFilter,
  onContext,
  scrollRef,
  label = "Log lines",
  endText = "Start of the range: no older lines.",
}: {
  rows: LogRow[];
  height: number | string;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
  onTopChange?: (atTop: boolean) => void;
  onFilter?: FilterHandler;
  onContext?: (line: LogLine) => void;
  scrollRef?: RefObject<HTMLDivElement | null>;
  label?: string;
  endText?: string;
}): ReactNode {
  const own = useRef<HTMLDivElement>(null);
  const scroller = scrollRef ?? own;
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const atTop = useRef(true);
  // The app is not built with the React Compiler, so nothing memoizes around the virtualizer.
  // eslint-disable-next-line react-hooks/incompatible-library -- see above
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 30,
    overscan: 16,
    getItemKey: (i) => rows[i]?.key ?? i,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? -1;

  // Older lines load when the end of the list comes into view.
  useEffect(() => {
    if (hasMore && !loadingMore && rows.length > 0 && lastIndex >= rows.length - 10) onLoadMore();
  }, [hasMore, loadingMore, lastIndex, rows.length, onLoadMore]);

  const toggle = (key: string): void => {
    setExpanded((old) => {
      const next = new Set(old);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });
  };

  return (
    <div
      className="log-scroll"
      ref={scroller}
      style={{ height }}
      role="list"
      aria-label={label}
      tabIndex={0}
      onScroll={(e) => {
        const top = e.currentTarget.scrollTop <= TOP_SLACK;
        if (top !== atTop.current) {
          atTop.current = top;
          onTopChange?.(top);
        }
      }}
    >
      <div style={{ height: virtualizer.getTotalSize(), position: "relative", width: "100%" }}>
        {items.map((item) => {
          const row = rows[item.index];
          if (!row) return null;
          return (
            <div
              key={item.key}
              role="listitem"
              data-index={item.index}
              ref={virtualizer.measureElement}
              style={{ position: "absolute", top: 0, left: 0, width: "100%", transform: `translateY(${item.start}px)` }}
            >
              {row.kind === "marker" ? (
                <div className="log-marker" data-marker={row.key}>
                  <Banner tone="warning">{row.text}</Banner>
                </div>
              ) : (
                <LogRowView
                  line={row.line}
                  live={row.live}
                  expanded={expanded.has(row.key)}
                  onToggle={() => toggle(row.key)}
                  onFilter={onFilter}
                  onContext={onContext}
                />
              )}
            </div>
          );
        })}
      </div>
      {rows.length > 0 ? (
        <div className="log-end">
          {loadingMore ? (
            <>
              <Spinner label="Loading older lines" /> Loading older lines
            </>
          ) : hasMore ? (
            <button type="button" className="btn btn-sm" onClick={onLoadMore}>
              Load older
            </button>
          ) : (
            <span className="faint small">{endText}</span>
          )}
        </div>
      ) : null}
    </div>
  );
}
