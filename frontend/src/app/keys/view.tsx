"use client";

import { useEffect, useState } from "react";
import { useSubmit } from "@/components/forms";
import { ItemTable, useList } from "@/components/list";
import { useSession } from "@/components/session";
import { ConfirmButton, CopyButton, ErrorAlert, Field, Notice, NoticeMessage, Time } from "@/components/ui";
import { request, sessionClaims, type PublicKey } from "@/lib/client";
import { jwtExample, keyKind, publicJwk, toPem } from "@/lib/keys";
import { hasControl } from "@/lib/validate";

export function Keys() {
  const { reload } = useSession();
  const { items: keys, load, remove: removePath, error, setError, notice, setNotice } = useList<PublicKey>("/api/v1/keys", "session");
  const [example, setExample] = useState<{ kid: string; file: string } | null>(null);

  async function added(k: PublicKey, file?: string) {
    setNotice(`Key ${k.name ? `“${k.name}” ` : ""}registered, id ${k.kid}.`);
    setExample({ kid: k.kid, file: file ?? "your-key.pem" });
    await load();
    void reload();
  }

  const remove = (k: PublicKey) =>
    removePath(
      `/api/v1/keys/${encodeURIComponent(k.kid)}`,
      `Key ${k.name ? `“${k.name}”` : k.kid} is deleted: the tokens it signed are refused from now on.`,
      async () => {
        if (example?.kid === k.kid) setExample(null);
        await load();
        void reload();
      },
    );

  return (
    <>
      <h1>API keys</h1>
      <p className="lead">
        Scripts call the API with short-lived tokens (JWTs) that they sign with your private key. The platform keeps
        only the public half.
      </p>
      <ErrorAlert message={error} />
      <NoticeMessage message={notice} />
      <section className="panel" aria-labelledby="keys-h">
        <h2 id="keys-h">Your keys</h2>
        <ItemTable items={keys} empty="No key yet." headings={["Name", "Key id (kid)", "Algorithm", "Added", "Last used"]}>
          {(k) => (
            <tr key={k.kid}>
              <td>{k.name ?? <span className="muted">—</span>}</td>
              <td className="mono">{k.kid}</td>
              <td>{k.algorithm}</td>
              <td>
                <Time iso={k.created_at} />
              </td>
              <td>
                <Time iso={k.last_used_at} />
              </td>
              <td>
                <div className="actions">
                  <button type="button" className="secondary" onClick={() => setExample({ kid: k.kid, file: "your-key.pem" })}>
                    Example
                  </button>
                  <ConfirmButton label="Delete" question={`Delete ${k.name ? `“${k.name}”` : "this key"}?`} confirmLabel="Yes, delete" onConfirm={() => remove(k)} />
                </div>
              </td>
            </tr>
          )}
        </ItemTable>
      </section>
      <GenerateKey onAdded={added} setError={setError} />
      <UploadKey onAdded={added} />
      {example ? <Example kid={example.kid} keyFile={example.file} /> : null}
    </>
  );
}

/** Registers @publicKey (PEM or JWK) under @name (none if blank). */
function register(publicKey: string, name: string): Promise<PublicKey> {
  const body: { public_key: string; name?: string } = { public_key: publicKey };
  if (name.trim() !== "") body.name = name.trim();
  return request<PublicKey>("/api/v1/keys", { method: "POST", auth: "session", body });
}

function GenerateKey({ onAdded, setError }: { onAdded: (k: PublicKey, file: string) => Promise<void>; setError: (m: string | null) => void }) {
  const [name, setName] = useState("");
  const [download, setDownload] = useState<{ url: string; file: string } | null>(null);
  const { busy, run } = useSubmit(setError);

  useEffect(() => () => {
    if (download) URL.revokeObjectURL(download.url);
  }, [download]);

  async function generate(ev: React.FormEvent) {
    ev.preventDefault();
    await run(async () => {
      const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
      const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
      const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
      const k = await register(publicJwk(jwk), name);
      const file = `ddns-${(name.trim() || "key").replace(/[^A-Za-z0-9_-]+/g, "-")}.key.pem`;
      const url = URL.createObjectURL(new Blob([toPem(pkcs8, "PRIVATE KEY")], { type: "application/x-pem-file" }));
      pkcs8.fill(0);
      setDownload({ url, file });
      setName("");
      await onAdded(k, file);
    });
  }

  return (
    <section className="panel" aria-labelledby="gen-h">
      <h2 id="gen-h">Make a new key pair here</h2>
      <p>
        Your browser makes an EC P-256 (ES256) key pair, registers the public half, and offers the private half as a
        file. The private key never leaves this browser: save it now, it can’t be shown again.
      </p>
      {download ? (
        <Notice kind="info">
          <p>
            <strong>Save your private key now.</strong>{" "}
            <a href={download.url} download={download.file} className="button" data-testid="private-key-download">
              Download {download.file}
            </a>
          </p>
          <p>Keep it where only you can read it (chmod 600).</p>
        </Notice>
      ) : null}
      <form onSubmit={generate} noValidate>
        <div className="row">
          <Field label="Name (optional)" hint="Where it is used: “backup script”.">
            {(p) => <input {...p} type="text" name="gen-name" autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
        </div>
        <button type="submit" disabled={busy}>
          {busy ? "Making the key…" : "Make a key pair"}
        </button>
      </form>
    </section>
  );
}

function UploadKey({ onAdded }: { onAdded: (k: PublicKey) => Promise<void> }) {
  const [name, setName] = useState("");
  const [text, setText] = useState("");
  const { busy, error, setError, run } = useSubmit();
  const kind = keyKind(text);
  const kindMsg =
    kind === "pem-private" || kind === "jwk-private"
      ? "That is a private key! Don’t send it anywhere: paste the public half (openssl pkey -in key.pem -pubout)."
      : kind === "unknown"
        ? "Paste one PEM block (-----BEGIN PUBLIC KEY-----) or one JWK ({\"kty\": ...})."
        : null;
  const nameErr = name.length > 100 ? "At most 100 characters." : hasControl(name) ? "No control characters." : null;

  async function submit(ev: React.FormEvent) {
    ev.preventDefault();
    if (kind === "empty") return setError("Paste a public key.");
    if (kind === "pem-private" || kind === "jwk-private" || nameErr) return;
    await run(async () => {
      const k = await register(text.trim(), name);
      setText("");
      setName("");
      await onAdded(k);
    });
  }

  return (
    <section className="panel" aria-labelledby="up-h">
      <h2 id="up-h">Register a public key you have</h2>
      <ErrorAlert message={error} />
      <form onSubmit={submit} noValidate>
        <Field label="Name (optional)" error={nameErr}>
          {(p) => <input {...p} type="text" name="key-name" autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Public key (PEM or JWK)" hint="EC P-256 (ES256) or RSA of 2048 bits or more (RS256). Make one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem && openssl pkey -in key.pem -pubout" error={kindMsg}>
          {(p) => <textarea {...p} name="public-key" rows={6} spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} />}
        </Field>
        <button type="submit" disabled={busy}>
          Register the key
        </button>
      </form>
    </section>
  );
}

function Example({ kid, keyFile }: { kid: string; keyFile: string }) {
  const [claims, setClaims] = useState<{ sub: string; aud: string } | null>(null);
  const { user } = useSession();
  useEffect(() => {
    sessionClaims()
      .then((c) => setClaims({ sub: typeof c?.sub === "string" ? c.sub : String(user?.id ?? ""), aud: typeof c?.aud === "string" ? c.aud : "ddns" }))
      .catch(() => setClaims({ sub: String(user?.id ?? ""), aud: "ddns" }));
  }, [user]);
  if (!claims) return null;
  const text = jwtExample({ kid, sub: claims.sub, aud: claims.aud, origin: window.location.origin, keyFile });
  return (
    <section className="panel" aria-labelledby="ex-h">
      <h2 id="ex-h">Calling the API with this key</h2>
      <p>
        A token carries your user id (<code>sub</code> {claims.sub}), the audience <code>{claims.aud}</code>, when it was
        made and when it ends (at most 5 minutes later), a new random id (<code>jti</code>) and the scopes it may use
        (<code>dns:read</code>, <code>dns:write</code>, <code>domains:write</code>). Replace HOST with one of your hostnames.
      </p>
      <pre className="snippet" tabIndex={0} data-testid="jwt-example">
        {text}
      </pre>
      <CopyButton text={text} />
    </section>
  );
}
