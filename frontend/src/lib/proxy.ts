// Which service answers a path of the dashboard's own origin: the browser
// talks to one origin only, so the session cookie stays first-party. Used by
// src/middleware.ts, which rewrites (proxies) at run time.

export type Service = "user" | "api";

/** Path prefixes that ddns-user serves; everything else under /api/v1/ and /nic/ is ddns-api's. */
export const USER_PREFIXES = [
  "/api/v1/users",
  "/api/v1/sessions",
  "/api/v1/me",
  "/api/v1/keys",
  "/api/v1/password-reset",
] as const;

export const DEFAULT_USER_URL = "http://127.0.0.1:8081";
export const DEFAULT_API_URL = "http://127.0.0.1:8080";

function under(pathname: string, prefix: string): boolean {
  return pathname === prefix || pathname.startsWith(prefix + "/");
}

/** The service of @pathname, or null when the dashboard itself serves it. */
export function serviceFor(pathname: string): Service | null {
  if (USER_PREFIXES.some((p) => under(pathname, p))) return "user";
  if (pathname.startsWith("/api/v1/") || under(pathname, "/nic")) return "api";
  return null;
}

/** A base URL from the environment, without its trailing slashes; the default when unset or empty. */
export function baseUrl(value: string | undefined, fallback: string): string {
  const v = (value ?? "").trim();
  return (v === "" ? fallback : v).replace(/\/+$/, "");
}

/**
 * The URL to proxy @pathname + @search to, or null when it is not a service's.
 * @env holds DDNS_USER_URL and DDNS_API_URL (defaults: the local stack's).
 */
export function proxyTarget(
  pathname: string,
  search: string,
  env: { DDNS_USER_URL?: string; DDNS_API_URL?: string },
): string | null {
  const service = serviceFor(pathname);
  if (service === null) return null;
  const base =
    service === "user"
      ? baseUrl(env.DDNS_USER_URL, DEFAULT_USER_URL)
      : baseUrl(env.DDNS_API_URL, DEFAULT_API_URL);
  return base + pathname + search;
}
