// Type-aware record forms: the fields of each record type, their checks, and
// the record content (presentation format, as ddns-api takes it) built from
// them and read back from it.

import { hasControl, isIPv4, isIPv6, targetError } from "./validate";

export const RECORD_TYPES = ["A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA"] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

export function isRecordType(s: string): s is RecordType {
  return (RECORD_TYPES as readonly string[]).includes(s);
}

export type Fields = Record<string, string>;

export interface FieldSpec {
  key: string;
  label: string;
  kind: "text" | "number" | "select" | "textarea";
  hint?: string;
  placeholder?: string;
  options?: readonly string[];
  initial?: string;
}

export const CAA_TAGS = ["issue", "issuewild", "issuemail", "iodef"] as const;

export const FIELD_SPECS: Record<RecordType, readonly FieldSpec[]> = {
  A: [{ key: "address", label: "IPv4 address", kind: "text", placeholder: "192.0.2.1" }],
  AAAA: [{ key: "address", label: "IPv6 address", kind: "text", placeholder: "2001:db8::1" }],
  CNAME: [
    {
      key: "target",
      label: "Alias of (full host name)",
      kind: "text",
      placeholder: "example.com",
      hint: "A CNAME must be the only record at its name.",
    },
  ],
  MX: [
    { key: "priority", label: "Priority", kind: "number", initial: "10", hint: "Lower is tried first." },
    {
      key: "exchange",
      label: "Mail server",
      kind: "text",
      placeholder: "mail.example.com",
      hint: "A full host name; “.” with priority 0 says this name takes no mail.",
    },
  ],
  TXT: [
    {
      key: "text",
      label: "Text",
      kind: "textarea",
      placeholder: "v=spf1 -all",
      hint: "Taken literally, up to 2048 bytes; text that begins with a double quote is read as quoted strings.",
    },
  ],
  SRV: [
    { key: "priority", label: "Priority", kind: "number", initial: "10" },
    { key: "weight", label: "Weight", kind: "number", initial: "5" },
    { key: "port", label: "Port", kind: "number", placeholder: "5060" },
    { key: "target", label: "Target host", kind: "text", placeholder: "sip.example.com" },
  ],
  CAA: [
    { key: "flags", label: "Flags", kind: "number", initial: "0", hint: "0, or 128 for critical." },
    { key: "tag", label: "Tag", kind: "select", options: CAA_TAGS, initial: "issue" },
    {
      key: "value",
      label: "Value",
      kind: "text",
      placeholder: "letsencrypt.org",
      hint: "For issue/issuewild a CA’s domain (“;” allows none); for iodef a mailto: or https: URL.",
    },
  ],
};

export function emptyFields(type: RecordType): Fields {
  const f: Fields = {};
  for (const s of FIELD_SPECS[type]) f[s.key] = s.initial ?? "";
  return f;
}

function uint(raw: string | undefined, max: number, what: string): string | null {
  const s = (raw ?? "").trim();
  if (!/^[0-9]+$/.test(s)) return `${what} is a whole number.`;
  if (Number(s) > max) return `${what} is 0 to ${max}.`;
  return null;
}

function targetOrRoot(raw: string | undefined): string | null {
  const s = (raw ?? "").trim();
  return s === "." ? null : targetError(s);
}

export function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

/** What is wrong with each field (by key); empty when the record can be sent. */
export function fieldErrors(type: RecordType, f: Fields): Record<string, string> {
  const e: Record<string, string> = {};
  const set = (k: string, m: string | null) => {
    if (m !== null) e[k] = m;
  };
  const v = (k: string) => (f[k] ?? "").trim();
  switch (type) {
    case "A":
      if (v("address") === "") set("address", "Give an IPv4 address, e.g. 192.0.2.1.");
      else if (!isIPv4(v("address")))
        set("address", isIPv6(v("address")) ? "That is an IPv6 address: use an AAAA record." : "Not an IPv4 address (four numbers 0–255, no leading zeros).");
      break;
    case "AAAA":
      if (v("address") === "") set("address", "Give an IPv6 address, e.g. 2001:db8::1.");
      else if (!isIPv6(v("address")))
        set("address", isIPv4(v("address")) ? "That is an IPv4 address: use an A record." : "Not an IPv6 address.");
      break;
    case "CNAME":
      set("target", targetError(v("target")));
      break;
    case "MX":
      set("priority", uint(f.priority, 65535, "The priority"));
      set("exchange", targetOrRoot(f.exchange));
      if (v("exchange") === "." && v("priority") !== "0") set("exchange", "“.” (no mail) goes with priority 0.");
      break;
    case "TXT": {
      const t = f.text ?? "";
      if (t.trim() === "") set("text", "Give some text.");
      else if (hasControl(t)) set("text", "No line breaks, tabs or other control characters.");
      else if (utf8Length(t) > 2048) set("text", `At most 2048 bytes (this is ${utf8Length(t)}).`);
      else if (t !== t.trimStart() && !t.startsWith('"')) set("text", "Leading spaces are not kept; remove them or quote the text.");
      break;
    }
    case "SRV":
      set("priority", uint(f.priority, 65535, "The priority"));
      set("weight", uint(f.weight, 65535, "The weight"));
      set("port", uint(f.port, 65535, "The port"));
      set("target", targetOrRoot(f.target));
      break;
    case "CAA": {
      set("flags", uint(f.flags, 255, "The flags"));
      if (!(CAA_TAGS as readonly string[]).includes(v("tag"))) set("tag", "Choose issue, issuewild, issuemail or iodef.");
      const val = f.value ?? "";
      if (hasControl(val)) set("value", "No control characters.");
      else if (v("tag") === "iodef" && !/^(mailto:|https?:\/\/)\S+$/.test(val.trim()))
        set("value", "For iodef, a mailto: or http(s):// URL.");
      else if (v("tag") !== "iodef" && val.trim() === "") set("value", "Give a CA’s domain, or “;” to allow none.");
      break;
    }
  }
  return e;
}

function quote(s: string): string {
  return '"' + s.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
}

/** The record content from the fields (check them with fieldErrors first). */
export function buildContent(type: RecordType, f: Fields): string {
  const v = (k: string) => (f[k] ?? "").trim();
  switch (type) {
    case "A":
    case "AAAA":
      return v("address");
    case "CNAME":
      return v("target");
    case "MX":
      return `${Number(v("priority"))} ${v("exchange")}`;
    case "TXT":
      return (f.text ?? "").replace(/\s+$/, "");
    case "SRV":
      return `${Number(v("priority"))} ${Number(v("weight"))} ${Number(v("port"))} ${v("target")}`;
    case "CAA":
      return `${Number(v("flags"))} ${v("tag")} ${quote(f.value?.trim() ?? "")}`;
  }
}

/**
 * The quoted strings of a TXT or CAA value (`"a" "b"`), unescaped (`\"`,
 * `\\`, `\DDD` as bytes of UTF-8), or null when @s is not only quoted strings.
 */
export function unquoteStrings(s: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const t = s.trim();
  while (i < t.length) {
    if (t[i] !== '"') return null;
    i++;
    const bytes: number[] = [];
    let closed = false;
    while (i < t.length) {
      const ch = t[i] as string;
      if (ch === '"') {
        closed = true;
        i++;
        break;
      }
      if (ch === "\\") {
        const d = t.slice(i + 1, i + 4);
        if (/^[0-9]{3}$/.test(d)) {
          bytes.push(Number(d) & 0xff);
          i += 4;
          continue;
        }
        const next = t[i + 1];
        if (next === undefined) return null;
        bytes.push(...new TextEncoder().encode(next));
        i += 2;
        continue;
      }
      const cp = t.codePointAt(i) ?? 0;
      const c = String.fromCodePoint(cp);
      bytes.push(...new TextEncoder().encode(c));
      i += c.length;
    }
    if (!closed) return null;
    out.push(new TextDecoder().decode(new Uint8Array(bytes)));
    while (t[i] === " ") i++;
  }
  return out;
}

/** The fields of an existing record, for its edit form. */
export function parseContent(type: RecordType, content: string): Fields {
  const parts = content.trim().split(/\s+/);
  switch (type) {
    case "A":
    case "AAAA":
      return { address: content.trim() };
    case "CNAME":
      return { target: content.trim() };
    case "MX":
      return { priority: parts[0] ?? "", exchange: parts.slice(1).join(" ") };
    case "TXT": {
      const strings = unquoteStrings(content);
      // shown unquoted when sending it back literally gives the same record:
      // one string, or strings cut at 255 bytes as the service cuts them
      if (strings !== null && strings.length > 0) {
        const joined = strings.join("");
        const cut = strings.slice(0, -1).every((x) => utf8Length(x) === 255);
        if ((strings.length === 1 || cut) && !joined.startsWith('"') && joined === joined.trim() && joined !== "")
          return { text: joined };
      }
      return { text: content };
    }
    case "SRV":
      return { priority: parts[0] ?? "", weight: parts[1] ?? "", port: parts[2] ?? "", target: parts[3] ?? "" };
    case "CAA": {
      const m = content.trim().match(/^([0-9]+)\s+([A-Za-z0-9]+)\s+(".*")$/);
      if (!m) return { flags: "0", tag: "issue", value: content };
      const val = unquoteStrings(m[3] ?? "");
      return { flags: m[1] ?? "0", tag: (m[2] ?? "issue").toLowerCase(), value: val ? val.join("") : (m[3] ?? "") };
    }
  }
}
