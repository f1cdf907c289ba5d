/** The tenant's log templates (what the miner made of its lines): top, new or rising, with
 * counts, the hourly trend and a sample line. A template opens its page; "Lines" opens the
 * Logs page filtered to it. The sort and filters live in the address. */
import { useInfiniteQuery } from "@tanstack/react-query";
import { type ReactNode } from "react";
import { Link } from "react-router";
import {
  DEFAULT_TEMPLATE_FILTERS,
  TEMPLATE_SORTS,
  templatesQuery,
  type TemplateFilters,
  type TemplateSort,
} from "../../api/templates";
import { FilterBar } from "../../components/FilterBar";
import { Icon } from "../../components/Icon";
import { PagedTable } from "../../components/PagedTable";
import { ResourceSection } from "../../components/ResourceSection";
import { EmptyState, PageHead, Time } from "../../components/ui";
import { risingText, templateHref, templateLogsHref } from "../../lib/templates";
import { useFilterText, useUrlFilters } from "../../lib/useUrlFilters";
import { TemplateText, TrendBars } from "./parts";
import "./templates.css";

function filtersFrom(params: URLSearchParams): TemplateFilters {
  const sort = params.get("sort") ?? "";
  return {
    sort: TEMPLATE_SORTS.some((s) => s.value === sort) ? (sort as TemplateSort) : DEFAULT_TEMPLATE_FILTERS.sort,
    search: params.get("search") ?? "",
    service: params.get("service") ?? "",
  };
}

const NOTES: Record<TemplateSort, string> = {
  count: "Most lines first.",
  newest: "Newest templates first: what started appearing lately.",
  rising: "Fastest growing first: this hour against the template's own hourly mean.",
};

export function TemplatesPage(): ReactNode {
  const { filters, update } = useUrlFilters(filtersFrom, DEFAULT_TEMPLATE_FILTERS);
  const [search, setSearch] = useFilterText(filters.search, (text) => update({ search: text }));
  const [service, setService] = useFilterText(filters.service, (text) => update({ service: text }));

  const query = useInfiniteQuery(templatesQuery(filters));
  const items = query.data?.pages.flatMap((p) => p.items) ?? [];
  const filtered = Boolean(filters.search || filters.service);
  const clear = (): void => {
    setSearch("");
    setService("");
    update({ search: "", service: "" });
  };

  return (
    <>
      <PageHead
        title="Log templates"
        subtitle="Every log line is given a template: its constant text, with variables as <*>."
      />
      <ResourceSection>
        <FilterBar onClear={clear} filtered={filtered}>
          <div className="seg" role="group" aria-label="Sort">
            {TEMPLATE_SORTS.map((s) => (
              <button
                key={s.value}
                type="button"
                aria-pressed={filters.sort === s.value}
                onClick={() => update({ sort: s.value })}
              >
                {s.label}
              </button>
            ))}
          </div>
          <input
            className="input"
            placeholder="Text in the template"
            aria-label="Search templates"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
          <input
            className="input"
            placeholder="Service"
            aria-label="Service"
            value={service}
            onChange={(e) => setService(e.target.value)}
          />
          <span className="small muted" style={{ alignSelf: "center" }}>
            {NOTES[filters.sort]}
          </span>
        </FilterBar>
        <PagedTable
          query={query}
          count={items.length}
          label="Templates"
          className="tpl-table"
          noun={["template", "templates"]}
          head={
            <>
              <th>Template</th>
              <th className="num">Lines</th>
              <th>Last 24 h</th>
              <th className="num" title="This hour against the template's own hourly mean">
                Rising
              </th>
              <th>Services</th>
              <th>Last seen</th>
              <th aria-label="Actions" />
            </>
          }
          empty={
            <EmptyState icon="templates" title={filtered ? "No templates match these filters" : "No templates yet"}>
              <p>
                {filtered
                  ? "Try other text or another service."
                  : "Templates appear as log lines come in: send logs and they are grouped here."}
              </p>
            </EmptyState>
          }
        >
          {items.map((t) => (
            <tr key={t.id} data-template-id={t.id}>
              <td className="tpl-cell">
                <Link className="primary-link tpl-link" to={templateHref(t.id)} title={t.template}>
                  <span className="tpl-id mono">#{t.id}</span> <TemplateText text={t.template} />
                </Link>
                {t.samples[0] ? (
                  <div className="tpl-sample mono small muted" title={t.samples[0]}>
                    {t.samples[0]}
                  </div>
                ) : null}
              </td>
              <td className="num">{t.count.toLocaleString("en")}</td>
              <td>
                <TrendBars trend={t.trend} start={t.trend_start} stepSeconds={t.trend_step_seconds} />
              </td>
              <td className="num mono">{risingText(t.rising)}</td>
              <td className="small">
                {t.services.slice(0, 3).join(", ")}
                {t.services.length > 3 ? <span className="muted"> +{t.services.length - 3}</span> : null}
              </td>
              <td>
                <Time value={t.last_seen} />
              </td>
              <td>
                <Link
                  className="btn btn-sm"
                  to={templateLogsHref(t.id, t.merged_ids)}
                  aria-label={`Lines of template ${t.id}`}
                >
                  <Icon name="logs" /> Lines
                </Link>
              </td>
            </tr>
          ))}
        </PagedTable>
      </ResourceSection>
    </>
  );
}
