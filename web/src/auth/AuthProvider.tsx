import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useState, type ReactNode } from "react";
import { api, onSessionExpired, refreshSession, setAccessToken, unwrap } from "../api/client";
import type { TokenPublic } from "../api/types";
import { AuthContext, type AuthApi, type SessionState } from "./session";

function sessionOf(token: TokenPublic): SessionState {
  return {
    status: "authenticated",
    session: { user: token.user, tenant: token.tenant, role: token.role },
  };
}

export function AuthProvider({ children }: { children: ReactNode }): ReactNode {
  const [state, setState] = useState<SessionState>({ status: "loading" });
  const queryClient = useQueryClient();

  // On load: the refresh cookie (if any) buys an access token without asking for a password.
  useEffect(() => {
    let live = true;
    void refreshSession({ optional: true }).then((token) => {
      if (!live) return;
      setState(token ? sessionOf(token) : { status: "anonymous" });
    });
    return () => {
      live = false;
    };
  }, []);

  useEffect(
    () =>
      onSessionExpired(() => {
        queryClient.clear();
        setState({ status: "anonymous", reason: "expired" });
      }),
    [queryClient],
  );

  const login = useCallback(async (username: string, password: string) => {
    const token = await unwrap(
      api.POST("/api/v1/auth/token", {
        body: { username, password },
        bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      }),
    );
    setAccessToken(token.access_token);
    queryClient.clear();
    setState(sessionOf(token));
  }, [queryClient]);

  const logout = useCallback(async () => {
    try {
      await api.POST("/api/v1/auth/logout");
    } finally {
      setAccessToken(null);
      queryClient.clear();
      setState({ status: "anonymous", reason: "logged-out" });
    }
  }, [queryClient]);

  const reloadIdentity = useCallback(async () => {
    const me = await unwrap(api.GET("/api/v1/auth/me"));
    const user = me.user;
    if (!user) return;
    setState({ status: "authenticated", session: { user, tenant: me.tenant, role: me.role } });
  }, []);

  const value = useMemo<AuthApi>(
    () => ({ state, login, logout, reloadIdentity }),
    [state, login, logout, reloadIdentity],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
