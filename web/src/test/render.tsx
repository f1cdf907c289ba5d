import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, type RenderResult } from "@testing-library/react";
import type { ReactNode } from "react";
import { createMemoryRouter, RouterProvider, type RouteObject } from "react-router";
import type { Role } from "../api/types";
import { AuthContext, type AuthApi } from "../auth/session";

export function sessionAs(role: Role): AuthApi {
  return {
    state: {
      status: "authenticated",
      session: {
        user: { id: "u-1", username: "vic", email: "vic@example.test", display_name: "Vic" },
        tenant: { id: "t-1", slug: "default", name: "Default" },
        role,
      },
    },
    login: async () => {},
    logout: async () => {},
    reloadIdentity: async () => {},
  };
}

/** Renders `routes` at `path` with a fresh query client and a signed-in `role`. */
export function renderAt(path: string, routes: RouteObject[], role: Role): RenderResult {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  const tree: ReactNode = (
    <QueryClientProvider client={client}>
      <AuthContext.Provider value={sessionAs(role)}>
        <RouterProvider router={router} />
      </AuthContext.Provider>
    </QueryClientProvider>
  );
  return render(tree);
}
