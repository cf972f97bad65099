"use client";

import { useCallback, useEffect, useState } from "react";
import { ErrorAlert, Loading, Time } from "@/components/ui";
import { domainPath, request } from "@/lib/client";
import { actionLabel, actorLabel, changeLines, type AuditEntry } from "@/lib/audit";
import { describe } from "@/lib/errors";

const PAGE = 20;

export function History({ hostname, version }: { hostname: string; version: number }) {
  const [items, setItems] = useState<AuditEntry[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(
    async (after: string | null) => {
      setBusy(true);
      try {
        const q = `${domainPath(hostname)}/history?limit=${PAGE}${after ? `&cursor=${encodeURIComponent(after)}` : ""}`;
        const page = await request<{ items: AuditEntry[]; next_cursor: string | null }>(q, { auth: "bearer" });
        setItems((old) => (after && old ? [...old, ...page.items] : page.items));
        setCursor(page.next_cursor);
        setError(null);
      } catch (e) {
        setError(describe(e));
      } finally {
        setBusy(false);
      }
    },
    [hostname],
  );

  useEffect(() => {
    void load(null);
  }, [load, version]);

  return (
    <section className="panel" aria-labelledby="hist-h">
      <h2 id="hist-h">History</h2>
      <div className="actions">
        <button type="button" className="secondary" onClick={() => void load(null)} disabled={busy}>
          Refresh
        </button>
      </div>
      <ErrorAlert message={error} />
      {items === null ? (
        <Loading />
      ) : items.length === 0 ? (
        <p className="empty">Nothing has happened yet.</p>
      ) : (
        <ul className="history" data-testid="history">
          {items.map((e) => (
            <li key={e.id}>
              <span className="what">{actionLabel(e.action)}</span> <span className="muted">by {actorLabel(e.actor)}</span>
              {e.client_addr ? <span className="muted"> from {e.client_addr}</span> : null}
              <span className="muted">
                {" "}
                · <Time iso={e.created_at} />
              </span>
              {changeLines(e).map((l, i) => (
                <div key={i} className="change">
                  {l}
                </div>
              ))}
            </li>
          ))}
        </ul>
      )}
      {cursor ? (
        <button type="button" className="secondary" onClick={() => void load(cursor)} disabled={busy}>
          Show older changes
        </button>
      ) : null}
    </section>
  );
}
