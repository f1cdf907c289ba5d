/** Log templates (log intelligence): the tenant's templates with counts, trends and samples,
 * sorted by count, newest or rising. Open to viewers. */
import { infiniteQueryOptions, keepPreviousData, queryOptions } from "@tanstack/react-query";
import { api, unwrap } from "./client";
import { cursorPaging, PAGE_SIZE } from "./paging";
import type { components, operations } from "./schema";

type Schemas = components["schemas"];
export type LogTemplate = Schemas["TemplatePublic"];
export type TemplateSort = NonNullable<NonNullable<operations["list_log_templates"]["parameters"]["query"]>["sort"]>;

export const TEMPLATE_SORTS: readonly { value: TemplateSort; label: string }[] = [
  { value: "count", label: "Top" },
  { value: "newest", label: "New" },
  { value: "rising", label: "Rising" },
];

export interface TemplateFilters {
  sort: TemplateSort;
  search: string;
  service: string;
}

export const DEFAULT_TEMPLATE_FILTERS: TemplateFilters = { sort: "count", search: "", service: "" };

const all = ["templates"] as const;

/** Query keys: `all` covers every template query. */
export const templateKeys = {
  all,
  list: (filters: TemplateFilters) => [...all, "list", filters] as const,
  one: (id: number) => [...all, "one", id] as const,
};

export function templatesQuery(filters: TemplateFilters, limit = PAGE_SIZE) {
  return infiniteQueryOptions({
    queryKey: templateKeys.list(filters),
    ...cursorPaging,
    placeholderData: keepPreviousData,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/logs/templates", {
          params: {
            query: {
              sort: filters.sort,
              search: filters.search || undefined,
              service: filters.service || undefined,
              cursor: pageParam ?? undefined,
              limit,
            },
          },
          signal,
        }),
      ),
  });
}

/** One template (a merged id answers with the template it went into). */
export function templateQuery(id: number) {
  return queryOptions({
    queryKey: templateKeys.one(id),
    enabled: Number.isInteger(id) && id > 0,
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/v1/logs/templates/{template_id}", { params: { path: { template_id: id } }, signal })),
  });
}
