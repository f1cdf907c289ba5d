/**
 * The typed API client. The access token lives in memory only; the refresh token is an
 * httpOnly cookie the browser sends to /api/v1/auth. A 401 triggers one refresh (shared by
 * every request that failed at the same time, and serialised across tabs) and one retry.
 */
import createClient from "openapi-fetch";
import type { paths } from "./schema";
import { ApiError } from "./problem";

import type { TokenPublic as TokenResponse } from "./types";

let accessToken: string | null = null;
let refreshing: Promise<TokenResponse | null> | null = null;
const expiredListeners = new Set<() => void>();

export function setAccessToken(token: string | null): void {
  accessToken = token;
}

export function getAccessToken(): string | null {
  return accessToken;
}

/** Called when a refresh fails: the session is over and the user has to log in again. */
export function onSessionExpired(listener: () => void): () => void {
  expiredListeners.add(listener);
  return () => expiredListeners.delete(listener);
}

/** The server's address (the page's own origin). */
export function serverOrigin(): string {
  return typeof window === "undefined" ? "http://localhost" : window.location.origin;
}

async function postRefresh(optional: boolean): Promise<TokenResponse | null> {
  let response: Response;
  try {
    // optional: a page load asking whether there is a session; with no cookie the answer is
    // 204, not a 401 the browser would log as a console error on every visit.
    response = await fetch(`${serverOrigin()}/api/v1/auth/refresh${optional ? "?optional=true" : ""}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
  } catch {
    return null;
  }
  if (!response.ok || response.status === 204) return null;
  const body = (await response.json()) as TokenResponse;
  accessToken = body.access_token;
  return body;
}

/** Exchange the refresh cookie for a new access token; concurrent callers share one call.
 * `optional` (on page load): no cookie is simply no session, not an error. */
export function refreshSession({ optional = false }: { optional?: boolean } = {}): Promise<TokenResponse | null> {
  if (refreshing) return refreshing;
  const post = (): Promise<TokenResponse | null> => postRefresh(optional);
  const run = async (): Promise<TokenResponse | null> =>
    typeof navigator !== "undefined" && "locks" in navigator
      ? await navigator.locks.request("agentdeck-refresh", post)
      : await post();
  refreshing = run().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function isAuthEndpoint(url: string): boolean {
  return new URL(url).pathname.startsWith("/api/v1/auth/") && !url.endsWith("/auth/me");
}

async function send(request: Request): Promise<Response> {
  if (accessToken && !request.headers.has("Authorization")) {
    request.headers.set("Authorization", `Bearer ${accessToken}`);
  }
  try {
    return await fetch(request);
  } catch (cause) {
    throw ApiError.network(cause);
  }
}

export async function authFetch(request: Request): Promise<Response> {
  const retry = request.clone();
  const response = await send(request);
  if (response.status !== 401 || isAuthEndpoint(request.url)) return response;
  const refreshed = await refreshSession();
  if (!refreshed) {
    accessToken = null;
    for (const listener of expiredListeners) listener();
    return response;
  }
  retry.headers.set("Authorization", `Bearer ${refreshed.access_token}`);
  return send(retry);
}

export const api = createClient<paths>({
  baseUrl: serverOrigin(),
  fetch: authFetch,
  credentials: "same-origin",
});

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** Resolve an openapi-fetch call to its data, or throw an ApiError with the problem. */
export async function unwrap<T>(call: Promise<FetchResult<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || error !== undefined) {
    throw ApiError.from(response.status, error, response.statusText);
  }
  return data as T;
}

/** Like unwrap, and also hands back the ETag the API sent with the resource. */
export async function unwrapWithEtag<T>(
  call: Promise<FetchResult<T>>,
): Promise<{ data: T; etag: string | null }> {
  const { data, error, response } = await call;
  if (!response.ok || error !== undefined) {
    throw ApiError.from(response.status, error, response.statusText);
  }
  return { data: data as T, etag: response.headers.get("ETag") };
}
