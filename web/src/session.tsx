import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { clearTokens, get, onSignedOut, accessToken, refreshToken, request, storeTokens, type Tokens } from "./api";

export interface User {
  id: string;
  username: string;
  display_name: string;
  email: string | null;
  roles: string[];
  station_id: string | null;
}

export interface Me {
  subject: string;
  roles: string[];
  station_id: string | null;
  user: User | null;
}

export interface UiConfig {
  tile_url: string;
  tile_attribution: string;
  map_center: [number, number];
  map_zoom: number;
}

const DEFAULT_CONFIG: UiConfig = {
  tile_url: "",
  tile_attribution: "",
  map_center: [43.7, -79.4],
  map_zoom: 11,
};

interface SessionValue {
  me: Me | null;
  loading: boolean;
  config: UiConfig;
  signIn: (tokens: Tokens) => Promise<Me>;
  signOut: () => Promise<void>;
  has: (...roles: string[]) => boolean;
}

const SessionContext = createContext<SessionValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [loading, setLoading] = useState(true);
  const [config, setConfig] = useState<UiConfig>(DEFAULT_CONFIG);

  useEffect(() => {
    fetch("/config.json")
      .then((r) => (r.ok ? r.json() : DEFAULT_CONFIG))
      .then((c) => setConfig({ ...DEFAULT_CONFIG, ...c }))
      .catch(() => setConfig(DEFAULT_CONFIG));
    if (accessToken()) {
      get<Me>("/api/v1/auth/me")
        .then(setMe)
        .catch(() => clearTokens())
        .finally(() => setLoading(false));
    } else {
      setLoading(false);
    }
    return onSignedOut(() => setMe(null));
  }, []);

  const signIn = useCallback(async (tokens: Tokens) => {
    storeTokens(tokens);
    const who = await get<Me>("/api/v1/auth/me");
    setMe(who);
    return who;
  }, []);

  const signOut = useCallback(async () => {
    const token = refreshToken();
    if (token) {
      try {
        await request("/api/v1/auth/logout", { json: { refresh_token: token } });
      } catch {
        /* the session ends here either way */
      }
    }
    clearTokens();
    setMe(null);
  }, []);

  const has = useCallback(
    (...roles: string[]) => !!me && me.roles.some((role) => roles.includes(role)),
    [me],
  );

  return (
    <SessionContext.Provider value={{ me, loading, config, signIn, signOut, has }}>
      {children}
    </SessionContext.Provider>
  );
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside SessionProvider");
  return value;
}

export const STAFF = ["admin", "supervisor", "officer", "analyst"];
export const WRITERS = ["admin", "supervisor", "officer"];
export const PRIVILEGED = ["admin", "supervisor"];
