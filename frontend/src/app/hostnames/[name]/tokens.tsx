"use client";

import { useCallback, useEffect, useState } from "react";
import { ConfirmButton, CopyButton, ErrorAlert, Field, Notice, Time } from "@/components/ui";
import { domainPath, request, type NewUpdateToken, type UpdateToken } from "@/lib/client";
import { describe } from "@/lib/errors";
import { snippets } from "@/lib/snippets";
import { hasControl } from "@/lib/validate";

export function UpdateTokens({ hostname, onChange }: { hostname: string; onChange: () => void }) {
  const [tokens, setTokens] = useState<UpdateToken[] | null>(null);
  const [created, setCreated] = useState<NewUpdateToken | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const base = `${domainPath(hostname)}/update-tokens`;

  const load = useCallback(async () => {
    try {
      const r = await request<{ items: UpdateToken[] }>(base, { auth: "bearer" });
      setTokens(r.items);
    } catch (e) {
      setError(describe(e));
    }
  }, [base]);

  useEffect(() => {
    void load();
  }, [load]);

  async function revoke(t: UpdateToken) {
    setNotice(null);
    try {
      await request(`${base}/${t.id}`, { method: "DELETE", auth: "bearer" });
      setNotice(`Token ${t.name ? `“${t.name}”` : `#${t.id}`} is revoked: clients using it get “badauth” from now on.`);
      if (created?.id === t.id) setCreated(null);
      await load();
      onChange();
    } catch (e) {
      setError(describe(e));
    }
  }

  return (
    <section className="panel" aria-labelledby="tok-h">
      <h2 id="tok-h">Update tokens</h2>
      <p className="muted">
        A token lets a router or a script keep the addresses (A and AAAA) of {hostname} current with the dyndns2
        protocol, and nothing else. Give each device its own, so that you can revoke one alone.
      </p>
      <ErrorAlert message={error} />
      {notice ? (
        <Notice>
          <p>{notice}</p>
        </Notice>
      ) : null}
      {created ? <NewToken hostname={hostname} token={created} onDone={() => setCreated(null)} /> : null}
      {tokens === null ? (
        <p className="muted" role="status">
          Loading…
        </p>
      ) : tokens.length === 0 ? (
        <p className="empty">No update token yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">From</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <tr key={t.id}>
                <td>
                  {t.name ?? <span className="muted">#{t.id}</span>}
                  {t.acme ? <span className="muted"> (with ACME TXT)</span> : null}
                </td>
                <td>
                  <Time iso={t.created_at} />
                </td>
                <td>
                  <Time iso={t.last_used_at} />
                </td>
                <td className="mono">{t.last_addr ?? <span className="muted">—</span>}</td>
                <td>
                  <ConfirmButton label="Revoke" question={`Revoke ${t.name ? `“${t.name}”` : `token #${t.id}`}?`} confirmLabel="Yes, revoke" onConfirm={() => revoke(t)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <CreateToken
        base={base}
        onCreated={async (t) => {
          setCreated(t);
          setNotice(null);
          await load();
          onChange();
        }}
      />
    </section>
  );
}

function CreateToken({ base, onCreated }: { base: string; onCreated: (t: NewUpdateToken) => Promise<void> }) {
  const [name, setName] = useState("");
  const [acme, setAcme] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const nameErr = name.length > 100 ? "At most 100 characters." : hasControl(name) ? "No control characters." : null;

  async function submit(ev: React.FormEvent) {
    ev.preventDefault();
    if (nameErr) return;
    setBusy(true);
    setError(null);
    try {
      const body: { name?: string; acme?: boolean } = {};
      if (name.trim() !== "") body.name = name.trim();
      if (acme) body.acme = true;
      const t = await request<NewUpdateToken>(base, { method: "POST", auth: "bearer", body });
      setName("");
      setAcme(false);
      await onCreated(t);
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate aria-labelledby="tok-new-h">
      <h3 id="tok-new-h">Create an update token</h3>
      <ErrorAlert message={error} />
      <div className="row">
        <Field label="Name (optional)" hint="Which device uses it: “home router”." error={nameErr}>
          {(p) => <input {...p} type="text" name="token-name" autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
      </div>
      <div className="field">
        <label className="inline">
          <input type="checkbox" checked={acme} onChange={(e) => setAcme(e.target.checked)} /> Also allow the ACME DNS-01 TXT
          record (_acme-challenge), for certificates
        </label>
      </div>
      <button type="submit" disabled={busy}>
        {busy ? "Creating…" : "Create a token"}
      </button>
    </form>
  );
}

function NewToken({ hostname, token, onDone }: { hostname: string; token: NewUpdateToken; onDone: () => void }) {
  const [tab, setTab] = useState(0);
  const all = snippets({ hostname, token: token.token, origin: window.location.origin });
  const current = all[tab] ?? all[0];
  return (
    <div className="alert info" role="region" aria-labelledby="tok-secret-h">
      <h3 id="tok-secret-h">Your new token{token.name ? ` “${token.name}”` : ""}</h3>
      <p>
        <strong>Copy it now: it is shown only this once.</strong> The username is the hostname, {hostname}.
      </p>
      <code className="secret" data-testid="update-token">
        {token.token}
      </code>
      <p className="actions">
        <CopyButton text={token.token} label="Copy the token" />
      </p>
      <h4>Set up your client</h4>
      <div className="tabs" role="tablist" aria-label="Clients">
        {all.map((s, i) => (
          <button
            key={s.id}
            type="button"
            role="tab"
            id={`snip-tab-${s.id}`}
            aria-selected={i === tab}
            aria-controls={`snip-panel-${s.id}`}
            tabIndex={i === tab ? 0 : -1}
            onClick={() => setTab(i)}
            onKeyDown={(e) => {
              if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
                const n = (i + (e.key === "ArrowRight" ? 1 : all.length - 1)) % all.length;
                setTab(n);
                document.getElementById(`snip-tab-${all[n]?.id}`)?.focus();
              }
            }}
          >
            {s.title}
          </button>
        ))}
      </div>
      {current ? (
        <div role="tabpanel" id={`snip-panel-${current.id}`} aria-labelledby={`snip-tab-${current.id}`}>
          <p className="muted">In {current.where}:</p>
          <pre className="snippet" data-testid={`snippet-${current.id}`} tabIndex={0}>
            {current.text}
          </pre>
          <CopyButton text={current.text} />
        </div>
      ) : null}
      <p>
        <button type="button" className="secondary" onClick={onDone}>
          I have saved it; hide the token
        </button>
      </p>
    </div>
  );
}
