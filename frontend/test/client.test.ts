import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { requestAll } from "../src/lib/client.ts";

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** A fetch that answers @pages in turn (each a JSON body), noting the URLs asked for. */
function fakeFetch(pages: unknown[]): string[] {
  const asked: string[] = [];
  globalThis.fetch = (async (url: string | URL | Request) => {
    asked.push(String(url));
    const body = pages[asked.length - 1];
    if (body === undefined) throw new Error(`one request too many: ${String(url)}`);
    return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
  }) as typeof fetch;
  return asked;
}

test("requestAll: a list without pages is one request", async () => {
  const asked = fakeFetch([{ items: [{ id: 1 }, { id: 2 }] }]);
  assert.deepEqual(await requestAll<{ id: number }>("/api/v1/zones", "none"), [{ id: 1 }, { id: 2 }]);
  assert.deepEqual(asked, ["/api/v1/zones"]);
});

test("requestAll: follows next_cursor, with & after a query and ? without", async () => {
  let asked = fakeFetch([{ items: [1, 2], next_cursor: "2" }, { items: [3], next_cursor: "a b" }, { items: [], next_cursor: null }]);
  assert.deepEqual(await requestAll<number>("/api/v1/dns-records?domain=a.dyn.test&limit=2", "none"), [1, 2, 3]);
  assert.deepEqual(asked, [
    "/api/v1/dns-records?domain=a.dyn.test&limit=2",
    "/api/v1/dns-records?domain=a.dyn.test&limit=2&cursor=2",
    "/api/v1/dns-records?domain=a.dyn.test&limit=2&cursor=a%20b",
  ]);
  asked = fakeFetch([{ items: ["x"], next_cursor: "7" }, { items: ["y"] }]);
  assert.deepEqual(await requestAll<string>("/api/v1/zones", "none"), ["x", "y"]);
  assert.deepEqual(asked, ["/api/v1/zones", "/api/v1/zones?cursor=7"]);
});

test("requestAll: a failed page fails the whole list", async () => {
  fakeFetch([{ items: [1], next_cursor: "1" }]);
  await assert.rejects(requestAll<number>("/api/v1/zones", "none"));
});
