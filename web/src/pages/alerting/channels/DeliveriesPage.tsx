import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type ReactNode } from "react";
import { Link, useSearchParams } from "react-router";
import { channelsQuery, deliveriesQuery, notifyKeys, retryDelivery, type Delivery } from "../../../api/notify";
import { useAuth } from "../../../auth/session";
import { roleAllows } from "../../../api/types";
import { FilterBar, FilterSelect } from "../../../components/FilterBar";
import { CardError, ResourceSection } from "../../../components/ResourceSection";
import { PagedTable } from "../../../components/PagedTable";
import { EmptyState, PageHead, Time } from "../../../components/ui";

const STATUSES = ["success", "failure", "dead", "rate_limited", "skipped"] as const;
const BADGE: Record<string, string> = { success: "badge-ok", failure: "badge-warn", dead: "badge-warn", rate_limited: "badge-muted", skipped: "badge-muted" };

export function DeliveriesPage(): ReactNode {
  const [params, setParams] = useSearchParams();
  const channelId = params.get("channel_id") ?? "";
  const status = params.get("status") ?? "";
  const queryClient = useQueryClient();
  const { state } = useAuth();
  const isAdmin = state.status === "authenticated" && roleAllows(state.session.role, "admin");
  const channels = useQuery({ ...channelsQuery(), enabled: isAdmin });
  const log = useInfiniteQuery(deliveriesQuery(channelId, status));
  const retry = useMutation({
    mutationFn: retryDelivery,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: notifyKeys.deliveries }),
  });
  const items: Delivery[] = log.data?.pages.flatMap((p) => p.items) ?? [];
  const channelName = (id: string): string => channels.data?.items.find((c) => c.id === id)?.name ?? id.slice(0, 8);
  const setFilter = (name: string, value: string): void => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
  };
  return (
    <div className="page">
      <PageHead title="Delivery log" subtitle="Every attempt to deliver a notification, newest first." actions={<Link className="btn" to="/alerting/channels">Channels</Link>} />
      <ResourceSection>
        <FilterBar>
          {isAdmin ? (
            <FilterSelect
              label="Channel"
              all="All channels"
              style={{ minWidth: 220 }}
              options={(channels.data?.items ?? []).map((c) => ({ value: c.id, label: c.name }))}
              value={channelId}
              onChange={(v) => setFilter("channel_id", v)}
            />
          ) : null}
          <FilterSelect
            label="Status"
            all="Any status"
            style={{ minWidth: 160 }}
            options={STATUSES.map((s) => ({ value: s, label: s.replace("_", " ") }))}
            value={status}
            onChange={(v) => setFilter("status", v)}
          />
        </FilterBar>
        <CardError error={retry.error} />
        <PagedTable
          query={log}
          count={items.length}
          label="Deliveries"
          minHeight={160}
          head={
            <>
              <th>At</th>
              <th>Channel</th>
              <th>Event</th>
              <th>Attempt</th>
              <th>Status</th>
              <th>Response</th>
              <th>Latency</th>
              <th>Alert</th>
              <th />
            </>
          }
          empty={
            <EmptyState icon="history" title="No deliveries">
              <p>Every attempt to send a notification shows up here. Alerts are sent once the routing tree names a receiver whose channels should get them.</p>
            </EmptyState>
          }
        >
          {items.map((d) => (
            <tr key={d.id} data-status={d.status}>
              <td><Time value={d.at} /></td>
              <td>{channelName(d.channel_id)}</td>
              <td>{d.event}</td>
              <td>{d.attempt}</td>
              <td><span className={`badge ${BADGE[d.status] ?? "badge-muted"}`}>{d.status.replace("_", " ")}</span></td>
              <td className="small" title={d.error ?? undefined}>
                {d.response_code ?? ""} {d.error ? <span className="muted">{d.error.slice(0, 80)}</span> : null}
              </td>
              <td className="small">{d.latency_ms != null ? `${Math.round(d.latency_ms)} ms` : ""}</td>
              <td className="small mono">{d.alert_id ? <Link to={`/alerts/${d.alert_id}`}>{d.alert_id.slice(0, 8)}</Link> : ""}</td>
              <td className="actions">
                {isAdmin && d.status === "dead" && d.outbox_status === "dead" ? (
                  <button type="button" className="btn btn-sm" disabled={retry.isPending} onClick={() => retry.mutate(d.outbox_id)}>
                    Retry now
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </PagedTable>
      </ResourceSection>
    </div>
  );
}
