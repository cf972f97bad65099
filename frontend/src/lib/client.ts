// The browser's calls to ddns-user and ddns-api, all on the dashboard's own
// origin (src/middleware.ts routes them). ddns-user takes the session cookie
// (with the CSRF header X-Requested-With on every request that is not a
// GET); ddns-api takes a short-lived session token that ddns-user signs,
// fetched here and renewed before it expires.

import { ApiError, type ServiceName } from "./errors";
import { serviceFor } from "./proxy";
import { jwtPayload } from "./keys";

export const CSRF_HEADER = { "X-Requested-With": "ddns-dashboard" } as const;

export type Auth = "none" | "session" | "bearer";

interface Options {
  method?: string;
  body?: unknown;
  auth?: Auth;
  signal?: AbortSignal;
}

function serviceOf(path: string): ServiceName {
  return serviceFor(path.split("?")[0] ?? path) ?? "dashboard";
}

async function errorOf(res: Response, service: ServiceName): Promise<ApiError> {
  const ra = Number(res.headers.get("Retry-After"));
  const retry = Number.isFinite(ra) && ra > 0 ? ra : null;
  let code = res.status >= 500 ? "unavailable" : "http_" + res.status;
  let message = "";
  try {
    const j = (await res.json()) as { error?: unknown; code?: unknown };
    if (typeof j.code === "string") code = j.code;
    if (typeof j.error === "string") message = j.error;
  } catch {
    // not JSON: a proxy or the HTTP layer answered
  }
  return new ApiError(res.status, code, message, service, retry);
}

// ---- session tokens for ddns-api ------------------------------------------

interface Token {
  token: string;
  /** ms since the epoch */
  expiresAt: number;
}

/** Renew this long before expiry. */
const MARGIN_MS = 60_000;
/** A token unused this long is not renewed by the timer (the session may idle out). */
const IDLE_MS = 10 * 60_000;

let current: Token | null = null;
let pending: Promise<Token> | null = null;
let timer: ReturnType<typeof setTimeout> | null = null;
let lastUse = 0;

async function fetchToken(): Promise<Token> {
  let res: Response;
  try {
    res = await fetch("/api/v1/sessions/token", {
      method: "POST",
      credentials: "same-origin",
      headers: { ...CSRF_HEADER },
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network", "", "user");
  }
  if (!res.ok) throw await errorOf(res, "user");
  const j = (await res.json()) as { token: string; expires_in: number };
  const t = { token: j.token, expiresAt: Date.now() + j.expires_in * 1000 };
  schedule(j.expires_in * 1000);
  return t;
}

function schedule(lifetimeMs: number) {
  if (timer !== null) clearTimeout(timer);
  timer = setTimeout(
    () => {
      timer = null;
      if (Date.now() - lastUse > IDLE_MS) {
        current = null; // unused: let it expire
        return;
      }
      void sessionToken(true).catch(() => undefined);
    },
    Math.max(5_000, lifetimeMs - MARGIN_MS),
  );
}

/** A valid session token for ddns-api (a new one when @renew, or when the one held is about to expire). */
export async function sessionToken(renew = false): Promise<string> {
  if (!renew && current !== null && Date.now() < current.expiresAt - MARGIN_MS / 2) return current.token;
  if (pending === null) {
    pending = fetchToken()
      .then((t) => {
        current = t;
        return t;
      })
      .finally(() => {
        pending = null;
      });
  }
  return (await pending).token;
}

/** The claims of the session token held (the user id and audience, for examples). */
export async function sessionClaims(): Promise<Record<string, unknown> | null> {
  return jwtPayload(await sessionToken());
}

/** Forget the session token (at logout). */
export function dropSessionToken() {
  current = null;
  if (timer !== null) clearTimeout(timer);
  timer = null;
}

// ---- requests ---------------------------------------------------------------

/** One JSON request; answers the parsed body (undefined for 204), throws ApiError. */
export async function request<T>(path: string, opts: Options = {}): Promise<T> {
  const method = opts.method ?? "GET";
  const auth = opts.auth ?? "none";
  const service = serviceOf(path);
  for (let attempt = 0; ; attempt++) {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if (auth === "session" && method !== "GET") Object.assign(headers, CSRF_HEADER);
    if (auth === "bearer") {
      lastUse = Date.now();
      headers.Authorization = `Bearer ${await sessionToken(attempt > 0)}`;
    }
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        credentials: "same-origin",
        cache: "no-store",
        signal: opts.signal,
      });
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") throw e;
      throw new ApiError(0, "network", "", service);
    }
    if (res.ok) {
      if (res.status === 204) return undefined as T;
      const text = await res.text();
      return (text === "" ? undefined : JSON.parse(text)) as T;
    }
    const err = await errorOf(res, service);
    // a session token refused (expired while the tab slept): once more with a new one
    if (auth === "bearer" && res.status === 401 && attempt === 0) continue;
    throw err;
  }
}

/**
 * Every item of a list (GET @path answers { items, next_cursor }), page after page;
 * a list that has no pages answers no next_cursor, and is one request.
 */
export async function requestAll<T>(path: string, auth: Auth): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | null | undefined = null;
  do {
    const q: string = cursor ? `${path}${path.includes("?") ? "&" : "?"}cursor=${encodeURIComponent(cursor)}` : path;
    const page: { items: T[]; next_cursor?: string | null } = await request(q, { auth });
    all.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return all;
}

/** The caller's address as ddns-api sees it (GET /nic/checkip). */
export async function checkIp(): Promise<string> {
  let res: Response;
  try {
    res = await fetch("/nic/checkip", { cache: "no-store" });
  } catch {
    throw new ApiError(0, "network", "", "api");
  }
  if (!res.ok) throw await errorOf(res, "api");
  return (await res.text()).trim();
}

// ---- the services' objects --------------------------------------------------

export interface User {
  id: number;
  email: string;
  verified: boolean;
  created_at: string;
  domains: number;
  keys: number;
}

export interface Zone {
  name: string;
}

export interface Domain {
  name: string;
  zone: string;
  created_at: string;
  record_count: number;
}

export interface DnsRecord {
  id: number;
  domain: string;
  name: string;
  type: string;
  content: string;
  ttl: number;
  created_at: string;
  updated_at: string;
}

export interface UpdateToken {
  id: number;
  name: string | null;
  acme: boolean;
  created_at: string;
  last_used_at: string | null;
  last_addr: string | null;
}

export interface NewUpdateToken extends UpdateToken {
  token: string;
}

export interface PublicKey {
  kid: string;
  name: string | null;
  algorithm: string;
  public_jwk: Record<string, unknown>;
  created_at: string;
  last_used_at: string | null;
}

export interface DnsAnswer {
  name: string;
  type: string;
  rcode: string;
  authoritative: boolean;
  answers: Array<{ name: string; type: string; ttl: number; content: string }>;
  server: string;
  elapsed_ms: number;
}

export function domainPath(name: string): string {
  return `/api/v1/domains/${encodeURIComponent(name)}`;
}
