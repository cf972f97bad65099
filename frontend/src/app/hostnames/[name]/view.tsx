"use client";

import Link from "next/link";
import { useCallback, useEffect, useState } from "react";
import { ErrorAlert, Loading } from "@/components/ui";
import { domainPath, request, type Domain } from "@/lib/client";
import { ApiError, describe } from "@/lib/errors";
import { DnsPanel } from "./dns";
import { History } from "./history";
import { Records } from "./records";
import { UpdateTokens } from "./tokens";

export function HostnameView({ name }: { name: string }) {
  const [domain, setDomain] = useState<Domain | null>(null);
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // bumped by every change made here: the DNS panel and the history follow
  const [version, setVersion] = useState(0);
  const changed = useCallback(() => setVersion((v) => v + 1), []);

  useEffect(() => {
    request<Domain>(domainPath(name), { auth: "bearer" })
      .then(setDomain)
      .catch((e) => {
        if (e instanceof ApiError && e.status === 404) setMissing(true);
        else setError(describe(e));
      });
  }, [name]);

  if (missing)
    return (
      <>
        <h1>{name}</h1>
        <ErrorAlert message="You hold no hostname of this name." />
        <p>
          <Link href="/hostnames">Back to your hostnames</Link>
        </p>
      </>
    );
  return (
    <>
      <p>
        <Link href="/hostnames">← Hostnames</Link>
      </p>
      <h1>{name}</h1>
      <ErrorAlert message={error} />
      {domain ? (
        <>
          <Records hostname={name} version={version} onChange={changed} />
          <DnsPanel hostname={name} version={version} />
          <UpdateTokens hostname={name} onChange={changed} />
          <History hostname={name} version={version} />
        </>
      ) : error ? null : (
        <Loading />
      )}
    </>
  );
}
