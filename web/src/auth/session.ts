import { createContext, useContext } from "react";
import { roleAllows, type Role, type TenantRef, type UserRef } from "../api/types";

export interface Session {
  user: UserRef;
  tenant: TenantRef;
  role: Role;
}

export type SessionState =
  | { status: "loading" }
  | { status: "anonymous"; reason?: "expired" | "logged-out" }
  | { status: "authenticated"; session: Session };

export interface AuthApi {
  state: SessionState;
  login: (username: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
  /** Re-read who we are (after changing the tenant, for instance). */
  reloadIdentity: () => Promise<void>;
}

export const AuthContext = createContext<AuthApi | null>(null);

export function useAuth(): AuthApi {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside <AuthProvider>");
  return value;
}

/** The signed-in session; only for components rendered behind <RequireAuth>. */
export function useSession(): Session {
  const { state } = useAuth();
  if (state.status !== "authenticated") throw new Error("useSession without a session");
  return state.session;
}

/** True when the signed-in user has `role` or higher. */
export function useCan(role: Role): boolean {
  const { state } = useAuth();
  return state.status === "authenticated" && roleAllows(state.session.role, role);
}
