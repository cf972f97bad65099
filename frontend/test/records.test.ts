import assert from "node:assert/strict";
import { test } from "node:test";
import { buildContent, emptyFields, fieldErrors, parseContent, RECORD_TYPES, unquoteStrings, type Fields, type RecordType } from "../src/lib/records.ts";

const good: Array<[RecordType, Fields, string]> = [
  ["A", { address: "192.0.2.1" }, "192.0.2.1"],
  ["AAAA", { address: "2001:db8::1" }, "2001:db8::1"],
  ["CNAME", { target: "example.com" }, "example.com"],
  ["MX", { priority: "10", exchange: "mail.example.com" }, "10 mail.example.com"],
  ["MX", { priority: "0", exchange: "." }, "0 ."],
  ["TXT", { text: "v=spf1 -all" }, "v=spf1 -all"],
  ["SRV", { priority: "10", weight: "5", port: "5060", target: "sip.example.com" }, "10 5 5060 sip.example.com"],
  ["CAA", { flags: "0", tag: "issue", value: "letsencrypt.org" }, '0 issue "letsencrypt.org"'],
  ["CAA", { flags: "128", tag: "iodef", value: "mailto:hostmaster@example.org" }, '128 iodef "mailto:hostmaster@example.org"'],
  ["CAA", { flags: "0", tag: "issue", value: 'a"b' }, '0 issue "a\\"b"'],
];
for (const [type, f, content] of good) {
  test(`${type} ${JSON.stringify(f)} is valid and builds ${content}`, () => {
    assert.deepEqual(fieldErrors(type, f), {});
    assert.equal(buildContent(type, f), content);
  });
}

const bad: Array<[RecordType, Fields, string, RegExp]> = [
  ["A", { address: "" }, "address", /Give an IPv4/],
  ["A", { address: "2001:db8::1" }, "address", /AAAA/],
  ["A", { address: "192.0.2.300" }, "address", /Not an IPv4/],
  ["AAAA", { address: "192.0.2.1" }, "address", /A record/],
  ["AAAA", { address: "2001:db8:::1" }, "address", /Not an IPv6/],
  ["CNAME", { target: "www" }, "target", /full name/],
  ["MX", { priority: "70000", exchange: "mail.example.com" }, "priority", /0 to 65535/],
  ["MX", { priority: "10", exchange: "." }, "exchange", /priority 0/],
  ["MX", { priority: "x", exchange: "mail.example.com" }, "priority", /whole number/],
  ["TXT", { text: "" }, "text", /Give some text/],
  ["TXT", { text: "a\nb" }, "text", /control/],
  ["TXT", { text: "x".repeat(2049) }, "text", /2048 bytes/],
  ["TXT", { text: "é".repeat(1025) }, "text", /2048 bytes \(this is 2050\)/],
  ["SRV", { priority: "1", weight: "1", port: "", target: "sip.example.com" }, "port", /whole number/],
  ["SRV", { priority: "1", weight: "1", port: "65536", target: "sip.example.com" }, "port", /0 to 65535/],
  ["CAA", { flags: "256", tag: "issue", value: "ca.example" }, "flags", /0 to 255/],
  ["CAA", { flags: "0", tag: "bogus", value: "ca.example" }, "tag", /Choose/],
  ["CAA", { flags: "0", tag: "iodef", value: "hostmaster@example.org" }, "value", /mailto/],
  ["CAA", { flags: "0", tag: "issue", value: "" }, "value", /CA’s domain/],
];
for (const [type, f, key, want] of bad) {
  test(`${type} ${JSON.stringify(f).slice(0, 60)}: ${key} is refused`, () => {
    assert.match(fieldErrors(type, f)[key] ?? "", want);
  });
}

for (const t of RECORD_TYPES) {
  test(`emptyFields(${t}) has a value for every field`, () => {
    const f = emptyFields(t);
    assert.ok(Object.keys(f).length > 0);
    for (const v of Object.values(f)) assert.equal(typeof v, "string");
  });
}

// what the service answers, read back into the form, builds the same record
const roundTrip: Array<[RecordType, string, Fields]> = [
  ["A", "192.0.2.1", { address: "192.0.2.1" }],
  ["MX", "10 mail.example.com.", { priority: "10", exchange: "mail.example.com." }],
  ["SRV", "1 2 443 web.example.com.", { priority: "1", weight: "2", port: "443", target: "web.example.com." }],
  ["CAA", '0 issue "letsencrypt.org"', { flags: "0", tag: "issue", value: "letsencrypt.org" }],
  ["TXT", '"v=spf1 -all"', { text: "v=spf1 -all" }],
  ["TXT", '"say \\"hi\\""', { text: 'say "hi"' }],
  ["TXT", '"caf\\195\\169"', { text: "café" }],
  ["TXT", '"a" "b"', { text: '"a" "b"' }], // not cut at 255 bytes: kept quoted
];
for (const [type, content, fields] of roundTrip) {
  test(`parseContent(${type}, ${content})`, () => assert.deepEqual(parseContent(type, content), fields));
}

test("a long TXT cut at 255 bytes reads back as one text", () => {
  const text = "k=" + "x".repeat(400);
  const content = `"${text.slice(0, 255)}" "${text.slice(255)}"`;
  assert.deepEqual(parseContent("TXT", content), { text });
});

test("unquoteStrings refuses what is not quoted strings", () => {
  assert.equal(unquoteStrings("abc"), null);
  assert.equal(unquoteStrings('"abc'), null);
  assert.deepEqual(unquoteStrings('"a\\\\b" "c"'), ["a\\b", "c"]);
});
