"use client";

import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { usePathname, useRouter } from "next/navigation";
import { ApiError } from "@/lib/errors";
import { CSRF_HEADER, dropSessionToken, request, type User } from "@/lib/client";

type Status = "loading" | "in" | "out";

interface Session {
  status: Status;
  user: User | null;
  /** Asks ddns-user who is logged in (after login, or to refresh the counts). */
  reload: () => Promise<User | null>;
  /** Ends the session and goes to the login page. */
  logout: () => Promise<void>;
}

const Ctx = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: React.ReactNode }) {
  const [status, setStatus] = useState<Status>("loading");
  const [user, setUser] = useState<User | null>(null);

  const reload = useCallback(async () => {
    try {
      const u = await request<User>("/api/v1/me", { auth: "session" });
      setUser(u);
      setStatus("in");
      return u;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        setUser(null);
        setStatus("out");
        dropSessionToken();
        return null;
      }
      throw e;
    }
  }, []);

  const logout = useCallback(async () => {
    try {
      await fetch("/api/v1/sessions", { method: "DELETE", credentials: "same-origin", headers: { ...CSRF_HEADER } });
    } finally {
      dropSessionToken();
      // a whole new page: nothing of the session stays in memory, and no
      // page that needs a login gets to redirect first
      window.location.assign("/login?bye=1");
    }
  }, []);

  useEffect(() => {
    reload().catch(() => {
      setStatus("out");
    });
  }, [reload]);

  const value = useMemo(() => ({ status, user, reload, logout }), [status, user, reload, logout]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): Session {
  const s = useContext(Ctx);
  if (s === null) throw new Error("useSession outside SessionProvider");
  return s;
}

/** Shows @children to a logged-in person; sends anyone else to the login page. */
export function RequireLogin({ children }: { children: React.ReactNode }) {
  const { status } = useSession();
  const router = useRouter();
  const path = usePathname();
  useEffect(() => {
    if (status === "out") router.replace(`/login?next=${encodeURIComponent(path)}`);
  }, [status, router, path]);
  if (status !== "in")
    return (
      <p role="status" className="muted">
        {status === "loading" ? "Loading…" : "Taking you to the login page…"}
      </p>
    );
  return <>{children}</>;
}
