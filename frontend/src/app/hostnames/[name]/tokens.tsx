"use client";

import { useState } from "react";
import { useSubmit } from "@/components/forms";
import { ItemTable, useList } from "@/components/list";
import { ConfirmButton, CopyButton, ErrorAlert, Field, NoticeMessage, Time } from "@/components/ui";
import { domainPath, request, type NewUpdateToken, type UpdateToken } from "@/lib/client";
import { snippets } from "@/lib/snippets";
import { hasControl } from "@/lib/validate";

export function UpdateTokens({ hostname, onChange }: { hostname: string; onChange: () => void }) {
  const base = `${domainPath(hostname)}/update-tokens`;
  const { items: tokens, load, remove, error, notice, setNotice } = useList<UpdateToken>(base, "bearer");
  const [created, setCreated] = useState<NewUpdateToken | null>(null);

  const revoke = (t: UpdateToken) =>
    remove(`${base}/${t.id}`, `Token ${t.name ? `“${t.name}”` : `#${t.id}`} is revoked: clients using it get “badauth” from now on.`, async () => {
      if (created?.id === t.id) setCreated(null);
      await load();
      onChange();
    });

  return (
    <section className="panel" aria-labelledby="tok-h">
      <h2 id="tok-h">Update tokens</h2>
      <p className="muted">
        A token lets a router or a script keep the addresses (A and AAAA) of {hostname} current with the dyndns2
        protocol, and nothing else. Give each device its own, so that you can revoke one alone.
      </p>
      <ErrorAlert message={error} />
      <NoticeMessage message={notice} />
      {created ? <NewToken hostname={hostname} token={created} onDone={() => setCreated(null)} /> : null}
      <ItemTable items={tokens} empty="No update token yet." headings={["Name", "Created", "Last used", "From"]}>
        {(t) => (
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
        )}
      </ItemTable>
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
  const { busy, error, run } = useSubmit();
  const nameErr = name.length > 100 ? "At most 100 characters." : hasControl(name) ? "No control characters." : null;

  async function submit(ev: React.FormEvent) {
    ev.preventDefault();
    if (nameErr) return;
    await run(async () => {
      const body: { name?: string; acme?: boolean } = {};
      if (name.trim() !== "") body.name = name.trim();
      if (acme) body.acme = true;
      const t = await request<NewUpdateToken>(base, { method: "POST", auth: "bearer", body });
      setName("");
      setAcme(false);
      await onCreated(t);
    });
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
