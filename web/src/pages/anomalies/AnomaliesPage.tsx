/** The anomalies list: what the detectors (and the LLM, when configured) found in the log
 * streams' batches, newest first, filtered by severity, type and service (kept in the address).
 * Each says when its lines happened (a backfill's are in the past) and, beneath, when it was
 * detected. */
import { useInfiniteQuery } from "@tanstack/react-query";
import { type ReactNode } from "react";
import { Link } from "react-router";
import {
  ANOMALY_SEVERITIES,
  ANOMALY_TYPES,
  anomaliesQuery,
  type AnomalyFilters,
  type AnomalyPublic,
} from "../../api/anomalies";
import { FilterBar, FilterSelect } from "../../components/FilterBar";
import { PagedTable } from "../../components/PagedTable";
import { ResourceSection } from "../../components/ResourceSection";
import { EmptyState, LinesWhen, PageHead } from "../../components/ui";
import { useFilterText, useUrlFilters } from "../../lib/useUrlFilters";
import { AnomalySeverityBadge } from "./AnomalyBadges";

function filtersFrom(params: URLSearchParams): AnomalyFilters {
  const severity = params.get("severity") ?? "";
  const type = params.get("type") ?? "";
  return {
    severity: (ANOMALY_SEVERITIES as readonly string[]).includes(severity) ? severity : "",
    type: (ANOMALY_TYPES as readonly string[]).includes(type) ? type : "",
    service: params.get("service") ?? "",
    sort: params.get("sort") === "window" ? "window" : "",
  };
}

export function AnomaliesPage(): ReactNode {
  const { filters, update, clear } = useUrlFilters(filtersFrom);
  const [serviceText, setServiceText] = useFilterText(filters.service, (service) => update({ service }), 400);
  const query = useInfiniteQuery(anomaliesQuery(filters));
  const items: AnomalyPublic[] = query.data?.pages.flatMap((p) => p.items) ?? [];
  const filtered = Boolean(filters.severity || filters.type || filters.service);
  return (
    <>
      <PageHead
        title="Anomalies"
        subtitle="What the detectors found in your log streams' batches; high and critical ones raise alerts."
        actions={
          <Link className="btn" to="/log-streams">
            Log streams
          </Link>
        }
      />
      <ResourceSection>
        <FilterBar
          filtered={filtered}
          onClear={() => {
            setServiceText("");
            clear();
          }}
        >
          <FilterSelect
            label="Severity"
            all="All severities"
            options={ANOMALY_SEVERITIES}
            value={filters.severity}
            onChange={(severity) => update({ severity })}
          />
          <FilterSelect
            label="Type"
            all="All types"
            options={ANOMALY_TYPES}
            value={filters.type}
            onChange={(type) => update({ type })}
          />
          <FilterSelect
            label="Sort"
            all="Newest detected first"
            options={[{ value: "window", label: "Newest lines first" }]}
            value={filters.sort === "window" ? "window" : ""}
            onChange={(sort) => update({ sort })}
          />
          <input
            className="input"
            placeholder="Service"
            aria-label="Service"
            value={serviceText}
            onChange={(e) => setServiceText(e.target.value)}
          />
        </FilterBar>
        <PagedTable
          query={query}
          count={items.length}
          label="Anomalies"
          noun={["anomaly", "anomalies"]}
          head={
            <>
              <th>Severity</th>
              <th>Type</th>
              <th>Service</th>
              <th>Description</th>
              <th>Lines</th>
              <th>Confidence</th>
              <th title="When the lines happened; beneath, when the analysis found it">When</th>
              <th>Alert</th>
            </>
          }
          empty={
            <EmptyState icon="alert" title={filtered ? "No anomalies match" : "No anomalies yet"}>
              <p>
                Create a <Link to="/log-streams">log stream</Link>: its lines are cut into batches and every
                batch is checked by the detectors.
              </p>
            </EmptyState>
          }
        >
          {items.map((a) => (
            <tr key={a.anomaly_id} data-anomaly={a.anomaly_type}>
              <td>
                <AnomalySeverityBadge severity={a.severity} />
              </td>
              <td className="mono small">{a.anomaly_type}</td>
              <td>{a.service || <span className="faint">—</span>}</td>
              <td>
                <Link to={`/anomalies/${a.anomaly_id}`}>{a.description}</Link>
              </td>
              <td>{a.evidence_count}</td>
              <td>{Math.round(a.confidence_score * 100)}%</td>
              <td>
                <LinesWhen start={a.window_start} end={a.window_end} label="detected" at={a.detected_at} />
              </td>
              <td>
                {a.alert_id ? (
                  <Link to={`/alerts/${a.alert_id}`}>alert</Link>
                ) : (
                  <span className="faint">—</span>
                )}
              </td>
            </tr>
          ))}
        </PagedTable>
      </ResourceSection>
    </>
  );
}
