// The services' errors ({"error": "...", "code": "..."}) in words a person
// understands, by their code; an unknown code falls back to the service's own
// message.

export type ServiceName = "user" | "api" | "dashboard";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The service's own message. */
  readonly serviceMessage: string;
  readonly service: ServiceName;
  /** Seconds, from Retry-After, when the service sent it. */
  readonly retryAfter: number | null;

  constructor(status: number, code: string, serviceMessage: string, service: ServiceName, retryAfter: number | null = null) {
    super(`${code}: ${serviceMessage}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.serviceMessage = serviceMessage;
    this.service = service;
    this.retryAfter = retryAfter;
  }
}

/** Messages by code; "service:code" entries win over "code" for that service. */
export const MESSAGES: Readonly<Record<string, string>> = {
  // accounts and sessions (ddns-user)
  invalid_email: "That doesn’t look like an email address.",
  password_too_short: "The password needs at least 10 characters. A few words make a good one.",
  password_too_long: "The password can have at most 1024 characters.",
  password_invalid: "The password can’t contain tabs, line breaks or other control characters.",
  password_is_email: "The password can’t be your email address.",
  password_common: "That password is too common and easy to guess. Choose another one.",
  "user:invalid_token": "This link doesn’t work: it was used already, has expired, or a newer one was sent. Ask for a new one.",
  invalid_credentials: "The email address or the password is wrong.",
  email_unverified: "Your email address isn’t verified yet. Follow the link we mailed you, or ask for a new one.",
  account_disabled: "This account is disabled. Contact the operator.",
  unauthenticated: "You’re not logged in, or your session ended. Log in again.",
  csrf_required: "The request was refused as a possible cross-site request. Reload the page and try again.",
  wrong_password: "The password is wrong.",
  key_exists: "This key is registered already, or was deleted once. Make a new key pair.",
  key_limit: "You have as many keys as allowed. Delete one first.",
  private_key: "That is a private key! Nothing of it was kept. Keep it secret and paste the public half (openssl pkey -pubout).",
  weak_key: "That key is too weak: use RSA of 2048 bits or more, or EC P-256.",
  unsupported_key: "That kind of key isn’t supported: use EC P-256 or RSA (2048 bits or more), as PEM or JWK.",
  invalid_key: "That isn’t a readable public key. Paste one PEM block or one JWK.",
  // domains and records (ddns-api)
  "api:invalid_token": "Your session could not be used with the DNS service. Reload the page, or log in again.",
  insufficient_scope: "Your session isn’t allowed to do this.",
  name_taken: "That name is taken. Try another one.",
  name_reserved: "That name is reserved by the operator. Try another one.",
  quota_exceeded: "You hold as many hostnames as allowed. Release one before claiming another.",
  zone_not_found: "That base zone isn’t offered (any more). Reload the page and pick another.",
  invalid_name: "That isn’t a valid name here.",
  invalid_type: "That record type isn’t supported.",
  type_not_allowed: "NS and SOA records are managed by the operator.",
  invalid_ttl: "The TTL must be 60 to 86400 seconds.",
  record_exists: "This record exists already.",
  cname_conflict: "A CNAME must be the only record at its name: remove the other records first, or use another name.",
  record_limit: "This hostname holds as many records as allowed. Delete one first.",
  token_limit: "This hostname has as many update tokens as allowed. Revoke one first.",
  not_found: "It isn’t there (any more). Reload the page.",
  dns_timeout: "The DNS server did not answer in time. Try again in a moment.",
  dns_error: "The DNS server’s answer could not be read. Try again in a moment.",
  // any request
  rate_limited: "Too many requests. Wait a moment and try again.",
  busy: "The service is busy. Try again in a moment.",
  unavailable: "The service is unavailable right now. Try again in a moment.",
  internal: "Something went wrong on our side. Try again; if it keeps happening, tell the operator.",
  body_too_large: "That is too large to send.",
  network: "The dashboard can’t reach the service. Check your connection and try again.",
};

/** Codes whose service message says what is wrong better than a general one. */
const WITH_DETAIL = new Set(["invalid_content", "invalid_field", "invalid_name"]);

/** The message for people of an error answer. */
export function messageFor(code: string, service: ServiceName, serviceMessage: string, retryAfter: number | null = null): string {
  if (WITH_DETAIL.has(code) && serviceMessage) {
    const detail = serviceMessage.charAt(0).toUpperCase() + serviceMessage.slice(1);
    return detail.endsWith(".") ? detail : detail + ".";
  }
  const m = MESSAGES[`${service}:${code}`] ?? MESSAGES[code];
  if (m === undefined) {
    if (serviceMessage === "") return "Something went wrong. Try again.";
    const s = serviceMessage.charAt(0).toUpperCase() + serviceMessage.slice(1);
    return s.endsWith(".") ? s : s + ".";
  }
  if (code === "rate_limited" && retryAfter !== null && retryAfter > 0)
    return `Too many requests. Try again in ${retryAfter} second${retryAfter === 1 ? "" : "s"}.`;
  return m;
}

/** A message for anything caught. */
export function describe(e: unknown): string {
  if (e instanceof ApiError) return messageFor(e.code, e.service, e.serviceMessage, e.retryAfter);
  if (e instanceof Error) return e.message;
  return "Something went wrong. Try again.";
}
