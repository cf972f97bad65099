"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import { domainPath, request, type DnsAnswer } from "@/lib/client";
import { ApiError, describe } from "@/lib/errors";
import { type RecordType } from "@/lib/records";
import { fullName, prefixError } from "@/lib/validate";
import { NameField, TypeField } from "./fields";

/** After a change here, ask again this often, this many times, so that the change can be seen arriving. */
const WATCH_EVERY_MS = 1000;
const WATCH_TIMES = 8;

/** What DNS answers now for a name of the hostname (GET /api/v1/domains/{name}/dns). */
export function DnsPanel({ hostname, version }: { hostname: string; version: number }) {
  const [prefix, setPrefix] = useState("");
  const [type, setType] = useState<RecordType>("A");
  const [answer, setAnswer] = useState<DnsAnswer | null>(null);
  const [checkedAt, setCheckedAt] = useState<Date | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [unsupported, setUnsupported] = useState(false);
  const [busy, setBusy] = useState(false);
  const [watching, setWatching] = useState(0);
  const query = useRef({ prefix, type });
  query.current = { prefix, type };

  const ask = useCallback(async () => {
    const q = query.current;
    if (prefixError(q.prefix, hostname)) return;
    setBusy(true);
    try {
      const name = fullName(q.prefix, hostname);
      const a = await request<DnsAnswer>(`${domainPath(hostname)}/dns?name=${encodeURIComponent(name)}&type=${q.type}`, { auth: "bearer" });
      setAnswer(a);
      setError(null);
      setUnsupported(false);
    } catch (e) {
      // a ddns-api without the endpoint answers 404 "no such resource" for the path
      setUnsupported(e instanceof ApiError && e.status === 404 && e.serviceMessage === "no such resource");
      setError(describe(e));
      setAnswer(null);
    } finally {
      setCheckedAt(new Date());
      setBusy(false);
    }
  }, [hostname]);

  useEffect(() => {
    void ask();
  }, [ask]);

  // a change was made: watch it arrive
  useEffect(() => {
    if (version === 0) return;
    setWatching(WATCH_TIMES);
  }, [version]);
  useEffect(() => {
    if (watching <= 0) return;
    const t = setTimeout(
      () => {
        void ask();
        setWatching((w) => w - 1);
      },
      watching === WATCH_TIMES ? 300 : WATCH_EVERY_MS,
    );
    return () => clearTimeout(t);
  }, [watching, ask]);

  return (
    <section className="panel" aria-labelledby="dns-h">
      <h2 id="dns-h">What DNS answers now</h2>
      <p className="muted">Asked of the platform’s authoritative DNS server, so you can watch a change arrive.</p>
      <form
        onSubmit={(ev) => {
          ev.preventDefault();
          void ask();
        }}
        noValidate
      >
        <div className="row">
          <NameField hostname={hostname} name="dns-prefix" hint={`Empty for ${hostname} itself.`} error={prefixError(prefix, hostname)} value={prefix} onChange={setPrefix} />
          <TypeField name="dns-type" value={type} onChange={setType} />
        </div>
        <div className="actions">
          <button type="submit" disabled={busy}>
            {busy ? "Asking…" : "Refresh"}
          </button>
          {watching > 0 ? <span className="muted">Watching for your change…</span> : null}
        </div>
      </form>
      <div aria-live="polite" aria-atomic="true" id="dns-result">
        {unsupported ? (
          <p className="empty">This server can’t show DNS answers yet.</p>
        ) : error ? (
          <p className="error-text">{error}</p>
        ) : answer ? (
          <DnsResult answer={answer} checkedAt={checkedAt} />
        ) : null}
      </div>
    </section>
  );
}

function DnsResult({ answer, checkedAt }: { answer: DnsAnswer; checkedAt: Date | null }) {
  const good = answer.rcode === "NOERROR";
  return (
    <>
      <div className="dns-status">
        <span>
          Status <span className={`badge ${good ? "good" : "bad"}`}>{answer.rcode}</span>
        </span>
        <span>
          <span className={`badge ${answer.authoritative ? "good" : "neutral"}`}>{answer.authoritative ? "authoritative" : "not authoritative"}</span>
        </span>
        <span className="muted">
          from {answer.server} in {Number(answer.elapsed_ms.toFixed(2))} ms{checkedAt ? `, at ${checkedAt.toLocaleTimeString()}` : ""}
        </span>
      </div>
      {answer.answers.length === 0 ? (
        <p className="empty" data-testid="dns-empty">
          {good ? `No ${answer.type} record at ${answer.name.replace(/\.$/, "")}.` : `${answer.name.replace(/\.$/, "")} does not exist in DNS.`}
        </p>
      ) : (
        <table data-testid="dns-answers">
          <caption className="visually-hidden">DNS answers</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">TTL</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {answer.answers.map((a, i) => (
              <tr key={i}>
                <td className="mono">{a.name.replace(/\.$/, "")}</td>
                <td>{a.type}</td>
                <td className="num">{a.ttl}</td>
                <td className="mono">{a.content}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
