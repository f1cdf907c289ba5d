import { useInfiniteQuery } from "@tanstack/react-query";
import { Fragment, useState, type ReactNode } from "react";
import { auditQuery, DEFAULT_AUDIT_FILTERS, type AuditFilters } from "../../api/audit";
import type { AuditEntryPublic } from "../../api/types";
import { RequireRole } from "../../auth/guards";
import { Icon } from "../../components/Icon";
import { FilterBar } from "../../components/FilterBar";
import { ResourceSection } from "../../components/ResourceSection";
import { EmptyState, Time } from "../../components/ui";
import { formatTime, pretty } from "../../lib/format";
import { useDebounced } from "../../lib/useDebounced";
import { PagedTable } from "../../components/PagedTable";

function Entry({ entry }: { entry: AuditEntryPublic }): ReactNode {
  const [open, setOpen] = useState(false);
  return (
    <Fragment>
      <tr className={open ? "expanded-row" : undefined}>
        <td>
          <button type="button" className="icon-btn" aria-expanded={open} aria-label={open ? "Hide changes" : "Show changes"} onClick={() => setOpen((v) => !v)}>
            <Icon name={open ? "chevronDown" : "chevronRight"} />
          </button>
        </td>
        <td>
          <Time value={entry.at} />
        </td>
        <td>
          {entry.actor.name || <span className="faint">—</span>}
          <div className="small faint">{entry.actor.type.replace("_", " ")}</div>
        </td>
        <td className="mono small">{entry.action}</td>
        <td>
          {entry.resource_type}
          {entry.resource_id ? <div className="mono small faint">{entry.resource_id}</div> : null}
        </td>
        <td className="mono small">{entry.ip ?? "—"}</td>
      </tr>
      {open ? (
        <tr className="expanded-row">
          <td />
          <td colSpan={5}>
            <div className="stack" style={{ gap: 10 }}>
              <pre className="json" aria-label="Changes">{pretty(entry.changes)}</pre>
              <div className="small muted">
                {formatTime(entry.at)} · request <span className="mono">{entry.request_id ?? "—"}</span>
                {entry.user_agent ? <> · {entry.user_agent}</> : null}
              </div>
            </div>
          </td>
        </tr>
      ) : null}
    </Fragment>
  );
}

function AuditLog(): ReactNode {
  const [draft, setDraft] = useState<AuditFilters>(DEFAULT_AUDIT_FILTERS);
  const filters = useDebounced(draft, 350);
  const query = useInfiniteQuery(auditQuery(filters));
  const entries = query.data?.pages.flatMap((p) => p.items) ?? [];
  const set = (key: keyof AuditFilters, value: string): void => setDraft((f) => ({ ...f, [key]: value }));
  const filtered = Object.values(draft).some(Boolean);

  return (
    <ResourceSection title="Audit log" note="Every change, who made it, from where.">
      <FilterBar filtered={filtered} onClear={() => setDraft(DEFAULT_AUDIT_FILTERS)}>
        <input className="input" placeholder="Actor (name or id)" aria-label="Actor" value={draft.actor} onChange={(e) => set("actor", e.target.value)} />
        <input className="input mono" placeholder="Action, e.g. agent.*" aria-label="Action" value={draft.action} onChange={(e) => set("action", e.target.value)} />
        <input className="input" placeholder="Resource type" aria-label="Resource type" value={draft.resource_type} onChange={(e) => set("resource_type", e.target.value)} />
        <input className="input mono" placeholder="Resource id" aria-label="Resource id" value={draft.resource_id} onChange={(e) => set("resource_id", e.target.value)} />
        <label className="row small muted">
          From
          <input className="input" type="datetime-local" aria-label="Since" value={draft.since} onChange={(e) => set("since", e.target.value)} />
        </label>
        <label className="row small muted">
          to
          <input className="input" type="datetime-local" aria-label="Until" value={draft.until} onChange={(e) => set("until", e.target.value)} />
        </label>
      </FilterBar>
      <PagedTable
        query={query}
        count={entries.length}
        label="Audit log"
        noun={["entry", "entries"]}
        minHeight={160}
        head={
          <>
            <th style={{ width: 44 }} />
            <th>When</th>
            <th>Actor</th>
            <th>Action</th>
            <th>Resource</th>
            <th>IP</th>
          </>
        }
        empty={
          <EmptyState icon="history" title={filtered ? "No entries match" : "Nothing recorded yet"}>
            <p>Creating, changing or deleting agents, users, keys and settings leaves an entry here.</p>
          </EmptyState>
        }
      >
        {entries.map((e) => (
          <Entry key={e.id} entry={e} />
        ))}
      </PagedTable>
    </ResourceSection>
  );
}

export function AuditLogPage(): ReactNode {
  return (
    <RequireRole role="admin">
      <AuditLog />
    </RequireRole>
  );
}
