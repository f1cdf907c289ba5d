/** Identity and settings: the server's info, users, API keys and the tenant. */
import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";
import { api, unwrap } from "./client";
import { cursorPaging, PAGE_SIZE } from "./paging";
import type { ApiKeyCreate, TenantUpdate, UserCreate, UserUpdate } from "./types";

/** Query keys: one root per resource (none of them holds another). */
export const identityKeys = {
  info: ["info"] as const,
  users: ["users"] as const,
  apiKeys: ["api-keys"] as const,
  tenant: ["tenant"] as const,
};

export function infoQuery() {
  return queryOptions({
    queryKey: identityKeys.info,
    queryFn: () => unwrap(api.GET("/api/v1/info")),
    staleTime: 5 * 60_000,
  });
}

export function usersQuery() {
  return infiniteQueryOptions({
    ...cursorPaging,
    queryKey: identityKeys.users,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/users", {
          params: { query: { limit: PAGE_SIZE, cursor: pageParam ?? undefined } },
          signal,
        }),
      ),
  });
}

export function apiKeysQuery() {
  return infiniteQueryOptions({
    ...cursorPaging,
    queryKey: identityKeys.apiKeys,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/api-keys", {
          params: { query: { limit: PAGE_SIZE, cursor: pageParam ?? undefined } },
          signal,
        }),
      ),
  });
}

export function tenantQuery() {
  return queryOptions({
    queryKey: identityKeys.tenant,
    queryFn: ({ signal }) => unwrap(api.GET("/api/v1/tenant", { signal })),
  });
}

// ---- writes ---------------------------------------------------------------------------------

export function createUser(body: UserCreate) {
  return unwrap(api.POST("/api/v1/users", { body }));
}

export function updateUser(id: string, body: UserUpdate) {
  return unwrap(api.PATCH("/api/v1/users/{user_id}", { params: { path: { user_id: id } }, body }));
}

export function createApiKey(body: ApiKeyCreate) {
  return unwrap(api.POST("/api/v1/api-keys", { body }));
}

export function revokeApiKey(id: string) {
  return unwrap(api.DELETE("/api/v1/api-keys/{key_id}", { params: { path: { key_id: id } } }));
}

export function updateTenant(body: TenantUpdate) {
  return unwrap(api.PATCH("/api/v1/tenant", { body }));
}
