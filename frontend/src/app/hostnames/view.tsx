"use client";

import Link from "next/link";
import { useEffect, useState } from "react";
import { useSubmit } from "@/components/forms";
import { ItemTable, useList } from "@/components/list";
import { useSession } from "@/components/session";
import { ConfirmButton, ErrorAlert, Field, NoticeMessage, Time } from "@/components/ui";
import { domainPath, request, type Domain, type Zone } from "@/lib/client";
import { describe } from "@/lib/errors";
import { bare, labelError, normalizeLabel } from "@/lib/validate";

export function Hostnames() {
  const { reload } = useSession();
  const { items: domains, load, remove, error, notice, setNotice } = useList<Domain>("/api/v1/domains", "bearer");

  const release = (d: Domain) =>
    remove(domainPath(d.name), `${bare(d.name)} is released; its records have left DNS.`, async () => {
      await load();
      void reload();
    });

  return (
    <>
      <h1>Hostnames</h1>
      <ErrorAlert message={error} />
      <NoticeMessage message={notice} />
      <section className="panel" aria-labelledby="list-h">
        <h2 id="list-h">Your hostnames</h2>
        <ItemTable items={domains} empty="You have no hostname yet: claim one below." headings={["Hostname", "Records", "Claimed"]}>
          {(d) => (
            <tr key={d.name}>
              <td>
                <Link href={`/hostnames/${encodeURIComponent(bare(d.name))}`}>{bare(d.name)}</Link>
              </td>
              <td className="num">{d.record_count}</td>
              <td>
                <Time iso={d.created_at} />
              </td>
              <td>
                <ConfirmButton
                  label="Release"
                  question={`Release ${bare(d.name)} and delete its ${d.record_count} record${d.record_count === 1 ? "" : "s"}?`}
                  confirmLabel="Yes, release it"
                  onConfirm={() => release(d)}
                />
              </td>
            </tr>
          )}
        </ItemTable>
      </section>
      <ClaimForm
        onClaimed={async (name) => {
          setNotice(`${name} is yours.`);
          await load();
          void reload();
        }}
      />
    </>
  );
}

function ClaimForm({ onClaimed }: { onClaimed: (name: string) => Promise<void> }) {
  const [zones, setZones] = useState<Zone[] | null>(null);
  const [zone, setZone] = useState("");
  const [label, setLabel] = useState("");
  const [touched, setTouched] = useState(false);
  const { busy, error, setError, run } = useSubmit();

  useEffect(() => {
    request<{ items: Zone[] }>("/api/v1/zones")
      .then((r) => {
        setZones(r.items);
        setZone((z) => z || (r.items[0]?.name ?? ""));
      })
      .catch((e) => setError(describe(e)));
  }, [setError]);

  const lErr = touched ? labelError(label) : null;
  const full = label.trim() !== "" && zone !== "" ? `${normalizeLabel(label)}.${bare(zone)}` : null;

  async function submit(ev: React.FormEvent) {
    ev.preventDefault();
    setTouched(true);
    if (labelError(label) || zone === "") return;
    const name = `${normalizeLabel(label)}.${bare(zone)}`;
    await run(async () => {
      await request("/api/v1/domains", { method: "POST", auth: "bearer", body: { name } });
      setLabel("");
      setTouched(false);
      await onClaimed(name);
    });
  }

  return (
    <section className="panel" aria-labelledby="claim-h">
      <h2 id="claim-h">Claim a hostname</h2>
      <ErrorAlert message={error} />
      {zones !== null && zones.length === 0 ? <p className="empty">This platform offers no zone yet.</p> : null}
      <form onSubmit={submit} noValidate>
        <div className="row">
          <Field
            label="Name"
            hint="1 to 63 letters a–z, digits and hyphens; not beginning or ending with a hyphen."
            error={lErr}
            ok={touched && !lErr && full ? `${full} — checks out; claim it to see whether it is free.` : null}
          >
            {(p) => (
              <input
                {...p}
                type="text"
                name="label"
                autoComplete="off"
                spellCheck={false}
                autoCapitalize="none"
                value={label}
                onChange={(e) => {
                  setLabel(e.target.value);
                  setTouched(true);
                }}
              />
            )}
          </Field>
          <Field label="Base zone" className="small">
            {(p) => (
              <select {...p} name="zone" value={zone} onChange={(e) => setZone(e.target.value)} disabled={zones === null}>
                {(zones ?? []).map((z) => (
                  <option key={z.name} value={z.name}>
                    .{bare(z.name)}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <button type="submit" disabled={busy || zones === null || zones.length === 0}>
          {busy ? "Claiming…" : "Claim"}
        </button>
      </form>
    </section>
  );
}
