// The change history of a hostname (ddns-api's audit entries) in words.

export interface AuditEntry {
  id: number;
  created_at: string;
  actor: string;
  client_addr: string | null;
  user_agent: string | null;
  action: string;
  old: unknown;
  new: unknown;
}

const ACTIONS: Record<string, string> = {
  "domain.claim": "Hostname claimed",
  "domain.release": "Hostname released",
  "record.create": "Record added",
  "record.update": "Record changed",
  "record.delete": "Record deleted",
  "rrsets.replace": "Records replaced",
  "token.create": "Update token created",
  "token.revoke": "Update token revoked",
  "nic.abuse": "Updates refused for a while (too many changes too fast)",
};

export function actionLabel(action: string): string {
  return ACTIONS[action] ?? action;
}

/** Who made a change: the dashboard, an API key or an update token. */
export function actorLabel(actor: string): string {
  const i = actor.indexOf(":");
  const kind = i < 0 ? actor : actor.slice(0, i);
  const id = i < 0 ? "" : actor.slice(i + 1);
  switch (kind) {
    case "session":
      return "Dashboard";
    case "key":
      return `API key ${id.length > 12 ? id.slice(0, 12) + "…" : id}`;
    case "token":
      return `Update token #${id}`;
    default:
      return actor;
  }
}

function obj(v: unknown): Record<string, unknown> | null {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : "";
}

function bareName(n: string): string {
  return n.endsWith(".") ? n.slice(0, -1) : n;
}

function recordLine(r: Record<string, unknown>): string {
  return `${bareName(str(r.name))} ${str(r.type)} ${str(r.content)}`;
}

interface RRset {
  name: string;
  type: string;
  records: string[];
}

function rrsets(v: unknown): RRset[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((x) => {
    const o = obj(x);
    if (!o) return [];
    const recs = Array.isArray(o.records) ? o.records.map(str) : [];
    return [{ name: bareName(str(o.name)), type: str(o.type), records: recs }];
  });
}

/** What changed, one line per record or RRset. */
export function changeLines(e: AuditEntry): string[] {
  const o = obj(e.old);
  const n = obj(e.new);
  switch (e.action) {
    case "record.create":
      return n ? [`+ ${recordLine(n)}`] : [];
    case "record.delete":
      return o ? [`− ${recordLine(o)}`] : [];
    case "record.update":
      if (o && n) {
        if (str(o.name) === str(n.name) && str(o.type) === str(n.type))
          return [`${bareName(str(n.name))} ${str(n.type)}: ${str(o.content)} → ${str(n.content)}`];
        return [`${recordLine(o)} → ${recordLine(n)}`];
      }
      return [];
    case "rrsets.replace": {
      const before = rrsets(e.old);
      const lines: string[] = [];
      for (const s of rrsets(e.new)) {
        const prev = before.find((b) => b.name === s.name && b.type === s.type);
        const was = prev && prev.records.length > 0 ? prev.records.join(", ") : "(none)";
        const now = s.records.length > 0 ? s.records.join(", ") : "(none)";
        lines.push(`${s.name} ${s.type}: ${was} → ${now}`);
      }
      return lines;
    }
    case "token.create":
    case "token.revoke": {
      const t = n ?? o;
      if (!t) return [];
      const name = str(t.name);
      return [`#${str(t.id)}${name ? ` “${name}”` : ""}${t.acme === true ? " (with ACME TXT)" : ""}`];
    }
    default:
      return [];
  }
}
