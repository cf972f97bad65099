// Client-side checks that mirror the services' rules, so that a person learns
// what is wrong while typing. The services check again; their answer wins.

/** True when @token has the form of the token in a mailed link (43 characters of base64url). */
export function isLinkToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(token);
}

/** The label a person claims under a base zone ("alice" in alice.dyn.test). */
export function labelError(raw: string): string | null {
  const label = raw.trim().toLowerCase();
  if (label === "") return "Choose a name.";
  if (label.length > 63) return `At most 63 characters (this one has ${label.length}).`;
  const bad = label.match(/[^a-z0-9-]/);
  if (bad) {
    const ch = bad[0] === " " ? "a space" : bad[0] === "." ? "a dot" : `“${bad[0]}”`;
    return `Only letters a–z, digits and hyphens: ${ch} is not allowed.`;
  }
  if (label.startsWith("-") || label.endsWith("-")) return "It can’t begin or end with a hyphen.";
  return null;
}

/** The label as it is claimed: trimmed, lower case. */
export function normalizeLabel(raw: string): string {
  return raw.trim().toLowerCase();
}

/** A zone's name without its final dot, for people. */
export function bare(name: string): string {
  return name.endsWith(".") && name.length > 1 ? name.slice(0, -1) : name;
}

/** True when @s is an IPv4 address in canonical form (no leading zeros). */
export function isIPv4(s: string): boolean {
  const octet = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
  return new RegExp(`^${octet}(\\.${octet}){3}$`).test(s);
}

/** True when @s is an IPv6 address (any valid spelling, an embedded IPv4 tail allowed). */
export function isIPv6(s: string): boolean {
  if (s.length < 2 || s.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(s)) return false;
  let groups = 8;
  let text = s;
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    if (!isIPv4(tail)) return false;
    groups = 6;
    text = text.slice(0, lastColon + 1) + "0"; // a placeholder group, counted below
    groups += 1;
  }
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const parse = (part: string): string[] | null => {
    if (part === "") return [];
    const g = part.split(":");
    return g.every((x) => /^[0-9A-Fa-f]{1,4}$/.test(x)) ? g : null;
  };
  const left = parse(halves[0] ?? "");
  if (left === null) return false;
  if (halves.length === 1) return left.length === groups;
  const right = parse(halves[1] ?? "");
  if (right === null) return false;
  return left.length + right.length < groups;
}

/** Why @s is not a host name for record data (CNAME, MX, SRV targets), or null. */
export function targetError(raw: string): string | null {
  const s = raw.trim();
  if (s === "") return "Give a host name.";
  const name = s.endsWith(".") ? s.slice(0, -1) : s;
  if (name.length > 253) return "A name has at most 253 characters.";
  const labels = name.split(".");
  for (const l of labels) {
    if (l === "") return "A name can’t have empty parts (two dots in a row, or a leading dot).";
    if (l.length > 63) return "Each part of a name has at most 63 characters.";
    if (!/^[A-Za-z0-9_-]+$/.test(l)) return `“${l}”: only letters, digits, hyphens and underscores.`;
    if (l.startsWith("-") || l.endsWith("-")) return `“${l}” can’t begin or end with a hyphen.`;
  }
  if (labels.length < 2) return "Give the full name, e.g. host.example.com.";
  return null;
}

/**
 * Why the owner-name prefix of a record below a hostname is not valid, or
 * null. Empty: the hostname itself; else labels ("www", "_acme-challenge",
 * "_sip._udp").
 */
export function prefixError(raw: string, hostname: string): string | null {
  const s = raw.trim().replace(/\.$/, "");
  if (s === "") return null;
  for (const l of s.split(".")) {
    if (l === "") return "A name can’t have empty parts (two dots in a row).";
    if (l.length > 63) return "Each part of a name has at most 63 characters.";
    if (!/^[A-Za-z0-9_-]+$/.test(l)) return `“${l}”: only letters, digits, hyphens and underscores.`;
    if (l.startsWith("-") || l.endsWith("-")) return `“${l}” can’t begin or end with a hyphen.`;
  }
  if (fullName(s, hostname).length > 253) return "The whole name would be longer than 253 characters.";
  return null;
}

/** The absolute-less owner name: prefix + "." + hostname (hostname without its final dot). */
export function fullName(prefix: string, hostname: string): string {
  const host = bare(hostname.toLowerCase());
  const p = prefix.trim().replace(/\.$/, "").toLowerCase();
  return p === "" ? host : `${p}.${host}`;
}

/** The prefix of @name below @hostname ("" for the hostname itself), or null when it is not below it. */
export function prefixOf(name: string, hostname: string): string | null {
  const n = bare(name.toLowerCase());
  const h = bare(hostname.toLowerCase());
  if (n === h) return "";
  return n.endsWith("." + h) ? n.slice(0, -(h.length + 1)) : null;
}

export const TTL_MIN = 60;
export const TTL_MAX = 86400;

export function ttlError(raw: string): string | null {
  const s = raw.trim();
  if (!/^[0-9]+$/.test(s)) return "The TTL is a whole number of seconds.";
  const n = Number(s);
  if (n < TTL_MIN || n > TTL_MAX) return `The TTL must be ${TTL_MIN} to ${TTL_MAX} seconds.`;
  return null;
}

/** Why a password is not acceptable to the service's policy (what can be told without the common list), or null. */
export function passwordError(password: string, email = ""): string | null {
  const n = [...password].length;
  if (n < 10) return `At least 10 characters (${n} so far). A few words make a good one.`;
  if (n > 1024) return "At most 1024 characters.";
  if (hasControl(password)) return "No tabs, line breaks or other control characters.";
  const e = email.trim().toLowerCase();
  const local = e.split("@")[0] ?? "";
  const p = password.toLowerCase();
  if (e !== "" && (p === e || (local !== "" && p === local))) return "The password can’t be your email address.";
  return null;
}

/** A loose email check for instant feedback; the service decides. */
export function emailError(raw: string): string | null {
  const s = raw.trim();
  if (s === "") return "Enter your email address.";
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s)) return "That doesn’t look like an email address.";
  return null;
}

/** True when @s holds a control character (C0, DEL or C1). */
export function hasControl(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}
