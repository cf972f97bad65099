import assert from "node:assert/strict";
import { test } from "node:test";
import { curl, ddclient, fritzbox, inadyn, openwrt, server, shellQuote, snippets } from "../src/lib/snippets.ts";

const token = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde";
const local = { hostname: "alice.dyn.test.", token, origin: "http://127.0.0.1:3000" };
const prod = { hostname: "Alice.Dyn.Example.NET", token, origin: "https://dyn.example.net/" };

test("server() reads scheme, host and port", () => {
  assert.deepEqual(server("http://127.0.0.1:3000"), { https: false, hostPort: "127.0.0.1:3000", origin: "http://127.0.0.1:3000" });
  assert.deepEqual(server("https://dyn.example.net:443/"), { https: true, hostPort: "dyn.example.net", origin: "https://dyn.example.net" });
});

test("ddclient: dyndns2 with the hostname as login and the token as password", () => {
  const s = ddclient(local);
  assert.match(s, /^protocol=dyndns2$/m);
  assert.match(s, /^ssl=no$/m);
  assert.match(s, /^server=127\.0\.0\.1:3000$/m);
  assert.match(s, /^login=alice\.dyn\.test$/m);
  assert.match(s, new RegExp(`^password='${token}'$`, "m"));
  assert.match(s, /^use=web, web=http:\/\/127\.0\.0\.1:3000\/nic\/checkip$/m);
  assert.match(s, /^alice\.dyn\.test$/m, "the host line at the end");
  assert.match(ddclient(prod), /^ssl=yes$/m);
  assert.match(ddclient(prod), /^server=dyn\.example\.net$/m);
  assert.match(ddclient(prod), /^login=alice\.dyn\.example\.net$/m, "lower case, no final dot");
});

test("inadyn: a custom provider with %h and %i, and our checkip", () => {
  const s = inadyn(local);
  assert.match(s, /^custom ddns \{$/m);
  assert.match(s, /^\s+ssl = false$/m);
  assert.match(s, /^\s+username = alice\.dyn\.test$/m);
  assert.match(s, new RegExp(`^\\s+password = ${token}$`, "m"));
  assert.match(s, /^\s+ddns-server = 127\.0\.0\.1:3000$/m);
  assert.match(s, /^\s+ddns-path = "\/nic\/update\?hostname=%h&myip=%i"$/m);
  assert.match(s, /^\s+checkip-path = \/nic\/checkip$/m);
  assert.match(s, /^\s+hostname = alice\.dyn\.test$/m);
  assert.match(inadyn(prod), /^\s+ssl = true$/m);
  assert.equal(s.split("{").length, s.split("}").length, "braces balance");
});

test("OpenWrt: ddns-scripts placeholders, credentials in the query", () => {
  const s = openwrt(local);
  assert.match(s, /^config service 'ddns_alice_dyn_test'$/m);
  assert.match(s, /option update_url 'http:\/\/127\.0\.0\.1:3000\/nic\/update\?hostname=\[DOMAIN\]&myip=\[IP\]&username=\[USERNAME\]&password=\[PASSWORD\]'/);
  assert.match(s, /option use_https '0'/);
  assert.doesNotMatch(s, /cacert/);
  assert.match(s, new RegExp(`option password '${token}'`));
  const p = openwrt(prod);
  assert.match(p, /option use_https '1'/);
  assert.match(p, /option cacert '\/etc\/ssl\/certs'/);
  assert.match(p, /update_url 'http:\/\/dyn\.example\.net\/nic/, "ddns-scripts switches to https itself");
});

test("Fritz!Box: the user-defined provider's fields", () => {
  const s = fritzbox(prod);
  assert.match(s, /Update URL:\s+https:\/\/dyn\.example\.net\/nic\/update\?hostname=<domain>&myip=<ipaddr>$/m);
  assert.match(s, /Domain name \(Domainname\):\s+alice\.dyn\.example\.net$/m);
  assert.match(s, /Username \(Benutzername\):\s+alice\.dyn\.example\.net$/m);
  assert.match(s, new RegExp(`Password \\(Kennwort\\):\\s+${token}$`, "m"));
  assert.match(s, /myip=<ip6addr>/);
});

test("curl: Basic auth, the address of the request unless myip is given", () => {
  const s = curl(local);
  assert.match(s, new RegExp(`^curl -fsS -u 'alice\\.dyn\\.test:${token}' 'http://127\\.0\\.0\\.1:3000/nic/update\\?hostname=alice\\.dyn\\.test'$`, "m"));
  const m = curl(local, "192.0.2.7");
  assert.match(m, /hostname=alice\.dyn\.test&myip=192\.0\.2\.7'$/m);
  const v6 = curl(local, "2001:db8::1");
  assert.match(v6, /myip=2001%3Adb8%3A%3A1'/);
});

test("shellQuote quotes single quotes", () => {
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});

test("snippets() gives the five clients in order, each with the token", () => {
  const all = snippets(local);
  assert.deepEqual(all.map((x) => x.id), ["ddclient", "inadyn", "openwrt", "fritzbox", "curl"]);
  for (const x of all) assert.ok(x.text.includes(token), `${x.id} holds the token`);
});
