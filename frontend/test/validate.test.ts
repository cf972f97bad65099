import assert from "node:assert/strict";
import { test } from "node:test";
import {
  emailError,
  fullName,
  isIPv4,
  isIPv6,
  isLinkToken,
  labelError,
  passwordError,
  prefixError,
  prefixOf,
  targetError,
  ttlError,
} from "../src/lib/validate.ts";

const labels: Array<[string, RegExp | null]> = [
  ["alice", null],
  ["a", null],
  ["a1-b2", null],
  ["ALICE", null], // lower-cased as it is claimed
  ["  bob  ", null], // trimmed
  ["x".repeat(63), null],
  ["x".repeat(64), /63 characters/],
  ["", /Choose a name/],
  ["-alice", /hyphen/],
  ["alice-", /hyphen/],
  ["al_ice", /“_” is not allowed/],
  ["al.ice", /a dot is not allowed/],
  ["al ice", /a space is not allowed/],
  ["älice", /“ä” is not allowed/],
];
for (const [input, want] of labels) {
  test(`labelError(${JSON.stringify(input.length > 20 ? input.slice(0, 8) + "…" + input.length : input)})`, () => {
    const got = labelError(input);
    if (want === null) assert.equal(got, null);
    else assert.match(got ?? "", want);
  });
}

const v4: Array<[string, boolean]> = [
  ["192.0.2.1", true],
  ["0.0.0.0", true],
  ["255.255.255.255", true],
  ["256.0.0.1", false],
  ["192.0.2.01", false],
  ["192.0.2", false],
  ["192.0.2.1.5", false],
  [" 192.0.2.1", false],
  ["a.b.c.d", false],
];
for (const [s, ok] of v4) test(`isIPv4(${JSON.stringify(s)}) is ${ok}`, () => assert.equal(isIPv4(s), ok));

const v6: Array<[string, boolean]> = [
  ["2001:db8::1", true],
  ["::", true],
  ["::1", true],
  ["fe80::", true],
  ["2001:0db8:0000:0000:0000:0000:0000:0001", true],
  ["::ffff:192.0.2.1", true],
  ["64:ff9b::192.0.2.33", true],
  ["1:2:3:4:5:6:7:8", true],
  ["1:2:3:4:5:6:7:8:9", false],
  ["1:2:3:4:5:6:7", false],
  ["1::2::3", false],
  ["2001:db8::g", false],
  ["12345::1", false],
  ["192.0.2.1", false],
  ["1:2:3:4:5:6:7::", true],
  ["::1:2:3:4:5:6:7:8", false],
];
for (const [s, ok] of v6) test(`isIPv6(${JSON.stringify(s)}) is ${ok}`, () => assert.equal(isIPv6(s), ok));

const targets: Array<[string, RegExp | null]> = [
  ["example.com", null],
  ["example.com.", null],
  ["_sip._udp.example.com", null],
  ["mail", /full name/],
  ["a..b", /empty parts/],
  ["-a.example", /hyphen/],
  ["a b.example", /only letters/],
  ["", /Give a host name/],
];
for (const [s, want] of targets)
  test(`targetError(${JSON.stringify(s)})`, () => {
    const got = targetError(s);
    if (want === null) assert.equal(got, null);
    else assert.match(got ?? "", want);
  });

test("prefixError accepts the hostname itself and labels below it", () => {
  assert.equal(prefixError("", "alice.dyn.test."), null);
  assert.equal(prefixError("www", "alice.dyn.test."), null);
  assert.equal(prefixError("_acme-challenge", "alice.dyn.test."), null);
  assert.equal(prefixError("_sip._udp", "alice.dyn.test."), null);
});
test("prefixError refuses bad labels", () => {
  assert.match(prefixError("a..b", "alice.dyn.test") ?? "", /empty parts/);
  assert.match(prefixError("w w", "alice.dyn.test") ?? "", /only letters/);
  assert.match(prefixError("x".repeat(64), "alice.dyn.test") ?? "", /63/);
});
test("fullName and prefixOf are inverse", () => {
  assert.equal(fullName("", "alice.dyn.test."), "alice.dyn.test");
  assert.equal(fullName("WWW", "alice.dyn.test."), "www.alice.dyn.test");
  assert.equal(prefixOf("www.alice.dyn.test.", "alice.dyn.test."), "www");
  assert.equal(prefixOf("alice.dyn.test.", "alice.dyn.test"), "");
  assert.equal(prefixOf("bob.dyn.test.", "alice.dyn.test."), null);
  assert.equal(prefixOf("xalice.dyn.test.", "alice.dyn.test."), null);
});

const ttls: Array<[string, boolean]> = [
  ["60", true],
  ["86400", true],
  ["59", false],
  ["86401", false],
  ["1e3", false],
  ["", false],
  ["300 ", true],
];
for (const [s, ok] of ttls) test(`ttlError(${JSON.stringify(s)}) ${ok ? "accepts" : "refuses"}`, () => assert.equal(ttlError(s) === null, ok));

test("passwordError follows the service's policy", () => {
  assert.match(passwordError("short") ?? "", /At least 10 characters \(5 so far\)/);
  assert.equal(passwordError("correct horse battery"), null);
  assert.match(passwordError("x".repeat(1025)) ?? "", /1024/);
  assert.match(passwordError("tab\there and more") ?? "", /control/);
  assert.match(passwordError("Alice@Example.org", "alice@example.org") ?? "", /email/);
  assert.match(passwordError("alicealice", "alicealice@example.org") ?? "", /email/);
  assert.equal(passwordError("ääääääääää"), null, "counts characters, not bytes");
});

test("emailError", () => {
  assert.equal(emailError("alice@example.org"), null);
  assert.match(emailError("") ?? "", /Enter/);
  assert.match(emailError("alice") ?? "", /doesn’t look/);
  assert.match(emailError("a b@example.org") ?? "", /doesn’t look/);
});

test("a mailed link's token: 43 characters of base64url, nothing else", () => {
  assert.equal(isLinkToken("A".repeat(43)), true);
  assert.equal(isLinkToken("aZ09_-".repeat(7) + "x"), true);
  assert.equal(isLinkToken("A".repeat(42)), false);
  assert.equal(isLinkToken("A".repeat(44)), false);
  assert.equal(isLinkToken("A".repeat(42) + "="), false);
  assert.equal(isLinkToken("A".repeat(42) + "+"), false);
  assert.equal(isLinkToken(""), false);
});
