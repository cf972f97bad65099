"use client";

import { useCallback, useEffect, useState } from "react";
import { request, requestAll, type Auth } from "@/lib/client";
import { describe } from "@/lib/errors";
import { Loading } from "./ui";

/**
 * A list a panel shows and changes (hostnames, keys, update tokens, records): its
 * items (null until the first answer), the panel's error and notice. It is asked
 * for at first and whenever @path or @version changes; load asks again. A failed
 * load is the error, a good one clears it.
 */
export function useList<T>(path: string, auth: Auth, version = 0) {
  const [items, setItems] = useState<T[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setItems(await requestAll<T>(path, auth));
      setError(null);
    } catch (e) {
      setError(describe(e));
    }
  }, [path, auth]);

  useEffect(() => {
    void load();
  }, [load, version]);

  /** Deletes @itemPath; then @message is the notice and @after runs (or the failure is the error). */
  const remove = useCallback(
    async (itemPath: string, message: string, after: () => Promise<void> | void) => {
      setNotice(null);
      try {
        await request(itemPath, { method: "DELETE", auth });
        setNotice(message);
        await after();
      } catch (e) {
        setError(describe(e));
      }
    },
    [auth],
  );

  return { items, load, remove, error, setError, notice, setNotice };
}

/**
 * A list as a table: "Loading…" until @items come, @empty when there are none.
 * The columns are @headings, then one for the buttons of each row.
 */
export function ItemTable<T>({
  items,
  empty,
  headings,
  children,
}: {
  items: T[] | null;
  empty: React.ReactNode;
  headings: string[];
  /** One row (a <tr> with its key). */
  children: (item: T) => React.ReactNode;
}) {
  if (items === null) return <Loading />;
  if (items.length === 0) return <p className="empty">{empty}</p>;
  return (
    <table>
      <thead>
        <tr>
          {headings.map((h) => (
            <th scope="col" key={h}>
              {h}
            </th>
          ))}
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>{items.map((item) => children(item))}</tbody>
    </table>
  );
}
