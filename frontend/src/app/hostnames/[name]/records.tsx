"use client";

import { useState } from "react";
import { ItemTable, useList } from "@/components/list";
import { ConfirmButton, ErrorAlert, Field, NoticeMessage } from "@/components/ui";
import { checkIp, request, type DnsRecord } from "@/lib/client";
import { describe } from "@/lib/errors";
import { buildContent, emptyFields, fieldErrors, FIELD_SPECS, isRecordType, parseContent, type Fields, type RecordType } from "@/lib/records";
import { bare, fullName, isIPv4, isIPv6, prefixError, prefixOf, ttlError } from "@/lib/validate";
import { NameField, TypeField } from "./fields";

export function Records({ hostname, version, onChange }: { hostname: string; version: number; onChange: () => void }) {
  const { items: records, remove: removePath, error, notice, setNotice } = useList<DnsRecord>(
    `/api/v1/dns-records?domain=${encodeURIComponent(hostname)}&limit=200`,
    "bearer",
    version,
  );
  const [editing, setEditing] = useState<number | null>(null);
  const [adding, setAdding] = useState(false);

  const remove = (r: DnsRecord) => removePath(`/api/v1/dns-records/${r.id}`, `Deleted ${r.type} ${r.content}.`, onChange);
  /** What a form does once its record is saved: @close it, say what was saved, show the change. */
  const saved = (close: () => void) => (message: string) => {
    close();
    setNotice(message);
    onChange();
  };

  return (
    <section className="panel" aria-labelledby="rec-h">
      <h2 id="rec-h">Records</h2>
      <ErrorAlert message={error} />
      <NoticeMessage message={notice} />
      <ItemTable
        items={records}
        empty={<>No records yet: {hostname} does not resolve. Add an A record with your address below.</>}
        headings={["Name", "Type", "Value", "TTL"]}
      >
        {(r) =>
          editing === r.id ? (
            <tr key={r.id}>
              <td colSpan={5}>
                <RecordForm
                  hostname={hostname}
                  record={r}
                  onCancel={() => setEditing(null)}
                  onSaved={saved(() => setEditing(null))}
                />
              </td>
            </tr>
          ) : (
            <tr key={r.id}>
              <td className="mono">{bare(r.name)}</td>
              <td>{r.type}</td>
              <td className="mono">{r.content}</td>
              <td className="num">{r.ttl}</td>
              <td>
                <div className="actions">
                  <button type="button" className="secondary" onClick={() => setEditing(r.id)} aria-label={`Edit ${r.type} ${r.content}`}>
                    Edit
                  </button>
                  <ConfirmButton label="Delete" question={`Delete ${r.type} ${r.content}?`} confirmLabel="Yes, delete" onConfirm={() => remove(r)} />
                </div>
              </td>
            </tr>
          )
        }
      </ItemTable>
      {adding ? (
        <>
          <h3>Add a record</h3>
          <RecordForm
            hostname={hostname}
            onCancel={() => setAdding(false)}
            onSaved={saved(() => setAdding(false))}
          />
        </>
      ) : (
        <button type="button" onClick={() => setAdding(true)}>
          Add a record
        </button>
      )}
    </section>
  );
}

function RecordForm({
  hostname,
  record,
  onSaved,
  onCancel,
}: {
  hostname: string;
  record?: DnsRecord;
  onSaved: (message: string) => void;
  onCancel: () => void;
}) {
  const initialType: RecordType = record && isRecordType(record.type) ? record.type : "A";
  const [type, setType] = useState<RecordType>(initialType);
  const [prefix, setPrefix] = useState(record ? (prefixOf(record.name, hostname) ?? "") : "");
  const [fields, setFields] = useState<Fields>(record ? parseContent(initialType, record.content) : emptyFields("A"));
  const [ttl, setTtl] = useState(String(record?.ttl ?? 60));
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [ipNote, setIpNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const errs = touched ? fieldErrors(type, fields) : {};
  const pErr = touched ? prefixError(prefix, hostname) : null;
  const tErr = touched ? ttlError(ttl) : null;

  function changeType(t: RecordType) {
    setType(t);
    setFields(emptyFields(t));
    setTouched(false);
    setIpNote(null);
  }

  async function useMyAddress() {
    setIpNote(null);
    try {
      const ip = await checkIp();
      if ((type === "A" && isIPv4(ip)) || (type === "AAAA" && isIPv6(ip))) {
        setFields({ address: ip });
        setTouched(true);
        setIpNote(`Your current address, as the service sees it: ${ip}.`);
      } else {
        setIpNote(`Your current address is ${ip}, an ${isIPv4(ip) ? "IPv4 address: use an A record" : "IPv6 address: use an AAAA record"}.`);
      }
    } catch (e) {
      setIpNote(describe(e));
    }
  }

  async function submit(ev: React.FormEvent) {
    ev.preventDefault();
    setTouched(true);
    if (Object.keys(fieldErrors(type, fields)).length > 0 || prefixError(prefix, hostname) || ttlError(ttl)) return;
    const body = { name: fullName(prefix, hostname), type, content: buildContent(type, fields), ttl: Number(ttl.trim()) };
    setBusy(true);
    setError(null);
    try {
      const saved = await request<DnsRecord>(record ? `/api/v1/dns-records/${record.id}` : "/api/v1/dns-records", {
        method: record ? "PUT" : "POST",
        auth: "bearer",
        body,
      });
      onSaved(`${record ? "Saved" : "Added"} ${bare(saved.name)} ${saved.type} ${saved.content}.`);
    } catch (e) {
      setError(describe(e));
      setBusy(false);
    }
  }

  const set = (k: string, v: string) => setFields((f) => ({ ...f, [k]: v }));

  return (
    <form onSubmit={submit} noValidate aria-label={record ? `Edit ${record.type} record` : "New record"}>
      <ErrorAlert message={error} />
      <div className="row">
        <TypeField name="type" value={type} onChange={changeType} />
        <NameField
          hostname={hostname}
          name="prefix"
          hint={`Empty for ${hostname} itself, or a name below it (www, _acme-challenge).`}
          error={pErr}
          value={prefix}
          onChange={setPrefix}
        />
        <Field label="TTL (seconds)" className="small" error={tErr}>
          {(p) => <input {...p} type="number" name="ttl" min={60} max={86400} inputMode="numeric" value={ttl} onChange={(e) => setTtl(e.target.value)} />}
        </Field>
      </div>
      <div className="row">
        {FIELD_SPECS[type].map((s) => (
          <Field key={`${type}-${s.key}`} label={s.label} hint={s.hint} error={errs[s.key]} className={s.kind === "number" ? "small" : undefined}>
            {(p) =>
              s.kind === "select" ? (
                <select {...p} name={s.key} value={fields[s.key] ?? ""} onChange={(e) => set(s.key, e.target.value)}>
                  {(s.options ?? []).map((o) => (
                    <option key={o} value={o}>
                      {o}
                    </option>
                  ))}
                </select>
              ) : s.kind === "textarea" ? (
                <textarea {...p} name={s.key} rows={3} value={fields[s.key] ?? ""} onChange={(e) => set(s.key, e.target.value)} />
              ) : (
                <input
                  {...p}
                  type={s.kind === "number" ? "number" : "text"}
                  inputMode={s.kind === "number" ? "numeric" : undefined}
                  name={s.key}
                  autoComplete="off"
                  spellCheck={false}
                  placeholder={s.placeholder}
                  value={fields[s.key] ?? ""}
                  onChange={(e) => set(s.key, e.target.value)}
                />
              )
            }
          </Field>
        ))}
      </div>
      {type === "A" || type === "AAAA" ? (
        <p>
          <button type="button" className="secondary" onClick={useMyAddress}>
            Use my current address
          </button>{" "}
          <span role="status" className="muted">
            {ipNote}
          </span>
        </p>
      ) : null}
      <div className="actions">
        <button type="submit" disabled={busy}>
          {busy ? "Saving…" : record ? "Save" : "Add the record"}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
