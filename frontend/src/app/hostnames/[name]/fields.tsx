"use client";

import { Field } from "@/components/ui";
import { RECORD_TYPES, type RecordType } from "@/lib/records";

/** The name of a record: what comes before @hostname (empty for the hostname itself), which is shown after it. */
export function NameField({
  hostname,
  name,
  hint,
  error,
  value,
  onChange,
}: {
  hostname: string;
  /** The input's name. */
  name: string;
  hint: string;
  error: string | null;
  value: string;
  onChange: (prefix: string) => void;
}) {
  return (
    <Field label="Name" hint={hint} error={error}>
      {(p) => (
        <div className="suffix">
          <input {...p} type="text" name={name} autoComplete="off" spellCheck={false} value={value} onChange={(e) => onChange(e.target.value)} />
          <span className="muted" style={{ alignSelf: "center", paddingLeft: ".4rem", whiteSpace: "nowrap" }} aria-hidden="true">
            {value.trim() === "" ? hostname : `.${hostname}`}
          </span>
        </div>
      )}
    </Field>
  );
}

/** A record type to choose. */
export function TypeField({ name, value, onChange }: { name: string; value: RecordType; onChange: (type: RecordType) => void }) {
  return (
    <Field label="Type" className="small">
      {(p) => (
        <select {...p} name={name} value={value} onChange={(e) => onChange(e.target.value as RecordType)}>
          {RECORD_TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}
