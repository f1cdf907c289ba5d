import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { authFetch, getAccessToken, onSessionExpired, refreshSession, setAccessToken } from "./client";

const token = (access: string) => ({
  access_token: access,
  token_type: "bearer",
  expires_in: 900,
  user: { id: "u", username: "ada", email: "ada@example.test", display_name: "Ada" },
  tenant: { id: "t", slug: "default", name: "Default" },
  role: "admin",
});

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

let calls: { url: string; auth: string | null; method: string }[];

function serve(handler: (url: string, auth: string | null) => Response | Promise<Response>): void {
  vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(String(input), init);
    const auth = request.headers.get("Authorization");
    calls.push({ url: new URL(request.url).pathname, auth, method: request.method });
    return handler(new URL(request.url).pathname, auth);
  });
}

beforeEach(() => {
  calls = [];
  setAccessToken(null);
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe("authFetch", () => {
  it("sends the access token it holds", async () => {
    setAccessToken("one");
    serve(() => json(200, {}));
    await authFetch(new Request("http://localhost/api/v1/agents"));
    expect(calls).toEqual([{ url: "/api/v1/agents", auth: "Bearer one", method: "GET" }]);
  });

  it("refreshes once on 401 and retries with the new token", async () => {
    setAccessToken("old");
    serve((url, auth) => {
      if (url === "/api/v1/auth/refresh") return json(200, token("new"));
      return auth === "Bearer new" ? json(200, { ok: true }) : json(401, { type: "/problems/unauthorized", status: 401, title: "Unauthorized" });
    });
    const request = new Request("http://localhost/api/v1/agents", {
      method: "POST",
      body: JSON.stringify({ name: "x" }),
      headers: { "Content-Type": "application/json" },
    });
    const response = await authFetch(request);
    expect(response.status).toBe(200);
    expect(calls.map((c) => `${c.method} ${c.url} ${c.auth ?? "-"}`)).toEqual([
      "POST /api/v1/agents Bearer old",
      "POST /api/v1/auth/refresh -",
      "POST /api/v1/agents Bearer new",
    ]);
    expect(getAccessToken()).toBe("new");
  });

  it("shares one refresh between requests that fail together", async () => {
    setAccessToken("old");
    serve((url, auth) => {
      if (url === "/api/v1/auth/refresh") return json(200, token("new"));
      return json(auth === "Bearer new" ? 200 : 401, {});
    });
    const responses = await Promise.all(
      ["a", "b", "c"].map((p) => authFetch(new Request(`http://localhost/api/v1/${p}`))),
    );
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(calls.filter((c) => c.url === "/api/v1/auth/refresh")).toHaveLength(1);
  });

  it("ends the session when the refresh is refused", async () => {
    setAccessToken("old");
    serve((url) => json(url === "/api/v1/auth/refresh" ? 401 : 401, {}));
    const expired = vi.fn();
    const stop = onSessionExpired(expired);
    const response = await authFetch(new Request("http://localhost/api/v1/agents"));
    stop();
    expect(response.status).toBe(401);
    expect(expired).toHaveBeenCalledOnce();
    expect(getAccessToken()).toBeNull();
  });

  it("does not refresh for a failed login", async () => {
    serve(() => json(401, {}));
    const response = await authFetch(
      new Request("http://localhost/api/v1/auth/token", { method: "POST", body: "username=a&password=b" }),
    );
    expect(response.status).toBe(401);
    expect(calls).toHaveLength(1);
  });

  it("refreshSession answers null without a cookie", async () => {
    serve(() => json(401, {}));
    expect(await refreshSession()).toBeNull();
  });
});
