import assert from "node:assert/strict";
import { test } from "node:test";
import { actionLabel, actorLabel, changeLines, type AuditEntry } from "../src/lib/audit.ts";

const base: AuditEntry = { id: 1, created_at: "2024-05-01T12:00:00Z", actor: "session:platform", client_addr: null, user_agent: null, action: "", old: null, new: null };

test("actors in words", () => {
  assert.equal(actorLabel("session:platform"), "Dashboard");
  assert.equal(actorLabel("token:7"), "Update token #7");
  assert.equal(actorLabel("key:9-OMfKCIHGf438W0m69RPquXgNGoeGyKpuaLXWj9CqM"), "API key 9-OMfKCIHGf4…");
  assert.equal(actorLabel("robot"), "robot");
});
test("actions in words", () => {
  assert.equal(actionLabel("record.create"), "Record added");
  assert.equal(actionLabel("rrsets.replace"), "Records replaced");
  assert.equal(actionLabel("something.else"), "something.else");
});
test("a dyndns2 update shows the address before and after", () => {
  const e = { ...base, action: "rrsets.replace", old: [{ name: "alice.dyn.test.", type: "A", ttl: 60, records: ["192.0.2.1"] }], new: [{ name: "alice.dyn.test.", type: "A", ttl: 60, records: ["192.0.2.7"] }] };
  assert.deepEqual(changeLines(e), ["alice.dyn.test A: 192.0.2.1 → 192.0.2.7"]);
});
test("an RRset that was not there, and one that goes", () => {
  const e = { ...base, action: "rrsets.replace", old: [], new: [{ name: "a.t.", type: "AAAA", ttl: 60, records: ["2001:db8::1"] }, { name: "a.t.", type: "A", ttl: 60, records: [] }] };
  assert.deepEqual(changeLines(e), ["a.t AAAA: (none) → 2001:db8::1", "a.t A: (none) → (none)"]);
});
test("records added, changed, deleted", () => {
  const r = { id: 3, name: "www.a.t.", type: "A", content: "192.0.2.1", ttl: 60 };
  assert.deepEqual(changeLines({ ...base, action: "record.create", new: r }), ["+ www.a.t A 192.0.2.1"]);
  assert.deepEqual(changeLines({ ...base, action: "record.delete", old: r }), ["− www.a.t A 192.0.2.1"]);
  assert.deepEqual(changeLines({ ...base, action: "record.update", old: r, new: { ...r, content: "192.0.2.2" } }), ["www.a.t A: 192.0.2.1 → 192.0.2.2"]);
  assert.deepEqual(changeLines({ ...base, action: "record.update", old: r, new: { ...r, name: "v.a.t.", content: "192.0.2.2" } }), ["www.a.t A 192.0.2.1 → v.a.t A 192.0.2.2"]);
});
test("tokens and malformed entries", () => {
  assert.deepEqual(changeLines({ ...base, action: "token.create", new: { id: 4, name: "router", acme: true } }), ["#4 “router” (with ACME TXT)"]);
  assert.deepEqual(changeLines({ ...base, action: "record.create", new: "garbage" }), []);
  assert.deepEqual(changeLines({ ...base, action: "domain.claim", new: { name: "a.t." } }), []);
});
