// The dashboard end to end, in Debian's Chromium driven by playwright-core,
// against a real stack (tests/e2e/run.sh starts it). One TAP line per step;
// a screenshot of every page in E2E_ARTIFACTS. After a failed step the
// others are reported skipped, and the exit status is 1.
//
// env: E2E_BASE (the dashboard, http://127.0.0.1:PORT), E2E_MAIL_DIR (the
// worker's .eml files), E2E_ARTIFACTS (screenshots), E2E_CHROMIUM
// (default /usr/bin/chromium)
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const base = need("E2E_BASE").replace(/\/+$/, "");
const mailDir = need("E2E_MAIL_DIR");
const shots = need("E2E_ARTIFACTS");
mkdirSync(shots, { recursive: true });

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.log(`Bail out! ${name} is not set`);
    process.exit(1);
  }
  return v;
}

const run = Date.now().toString(36);
const email = `e2e-${run}@example.org`;
const password = "a long enough e2e passphrase";
const label = `e2e${run}`;
const first = "192.0.2.10";
const second = "192.0.2.20";
let host = ""; // label.zone, once claimed
let token = "";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Until fn() is true, or throws after @ms with @what. */
async function until(what, fn, ms = 15000, every = 250) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      if (await fn()) return;
    } catch (e) {
      last = e;
    }
    await sleep(every);
  }
  throw new Error(`timed out: ${what}${last ? ` (${last.message})` : ""}`);
}

/** Quoted-printable soft breaks and escapes undone. */
function unqp(s) {
  return s.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

/** The bodies of a message's MIME parts, each decoded by its own Content-Transfer-Encoding (7bit or quoted-printable). */
function bodies(raw) {
  const b = raw.match(/boundary="([^"]+)"/);
  if (!b) return [raw];
  return raw
    .split(`--${b[1]}`)
    .slice(1)
    .map((part) => {
      const i = part.search(/\r?\n\r?\n/);
      const head = i < 0 ? part : part.slice(0, i);
      const body = i < 0 ? "" : part.slice(i);
      return /^Content-Transfer-Encoding:\s*quoted-printable/im.test(head) ? unqp(body) : body;
    });
}

/** The newest link to @path in a message to @to. */
function mailLink(to, path) {
  let found = null;
  let newest = 0;
  for (const f of readdirSync(mailDir)) {
    if (!f.endsWith(".eml")) continue;
    const file = join(mailDir, f);
    const raw = readFileSync(file, "latin1");
    const headers = raw.slice(0, raw.search(/\r?\n\r?\n/));
    if (!new RegExp(`^To:.*${to.replace(/[.+]/g, "\\$&")}`, "mi").test(headers)) continue;
    const re = new RegExp(`(https?://[^\\s"<>]+${path})\\?token=([A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])`);
    const m = bodies(raw)
      .map((body) => body.match(re))
      .find((x) => x);
    const t = statSync(file).mtimeMs;
    if (m && t >= newest) {
      newest = t;
      found = `${m[1]}?token=${m[2]}`;
    }
  }
  return found;
}

const browser = await chromium.launch({
  executablePath: process.env.E2E_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(15000);
const consoleErrors = [];
page.on("console", (m) => {
  if (m.type() === "error") consoleErrors.push(m.text());
});
page.on("pageerror", (e) => consoleErrors.push(String(e)));

// every page shot is also checked with axe-core (WCAG 2 A and AA: labels,
// names, contrast, ...); the serious and critical findings fail the last step
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const a11y = [];
async function audit(name) {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: axePath });
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    return {
      passes: r.passes.length,
      all: r.violations.length,
      bad: r.violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`),
    };
  });
  console.log(`# axe on ${name}: ${found.passes} rules pass, ${found.all} findings, ${found.bad.length} serious`);
  for (const f of found.bad) a11y.push(`${name}: ${f}`);
}

let shotNo = 0;
async function shot(name) {
  shotNo++;
  await page.screenshot({ path: join(shots, `${String(shotNo).padStart(2, "0")}-${name}.png`), fullPage: true });
  await audit(name);
}

const section = (heading) => page.locator("section", { has: page.getByRole("heading", { name: heading, exact: true }) });

/** Clicks the DNS panel's Refresh until it shows @value (the panel also asks by itself after a change). */
async function dnsShows(value) {
  const panel = section("What DNS answers now");
  await until(
    `the DNS panel shows ${value}`,
    async () => {
      const text = await panel.locator("#dns-result").innerText();
      if (text.includes(value)) return true;
      if (await panel.getByRole("button", { name: "Refresh" }).isEnabled()) await panel.getByRole("button", { name: "Refresh" }).click();
      return false;
    },
    20000,
    700,
  );
}

const steps = [
  [
    "the sign-up page signs up and asks to check the email",
    async () => {
      await page.goto(`${base}/signup`);
      await page.getByRole("heading", { name: "Sign up" }).waitFor();
      await page.getByLabel("Email address").fill(email);
      await page.getByLabel("Password", { exact: true }).fill("short");
      await page.getByText(/At least 10 characters \(5 so far\)/).waitFor();
      await page.getByLabel("Password", { exact: true }).fill(password);
      await shot("signup");
      await page.getByRole("button", { name: "Sign up" }).click();
      await page.getByRole("heading", { name: "Check your email" }).waitFor();
      await page.getByText(email).waitFor();
      await shot("check-email");
    },
  ],
  [
    "the worker mails a verification link to the dashboard",
    async () => {
      await until("a .eml with the link", () => mailLink(email, "/verify") !== null, 15000);
      const link = mailLink(email, "/verify");
      if (!link.startsWith(`${base}/verify?token=`)) throw new Error(`the link ${link} does not lead to ${base}`);
    },
  ],
  [
    "the verification page verifies the address",
    async () => {
      await page.goto(mailLink(email, "/verify"));
      await page.getByText("Your email address is verified.").waitFor();
      await shot("verify");
    },
  ],
  [
    "log in leads to the hostnames",
    async () => {
      await page.getByRole("link", { name: "Log in" }).first().click();
      await page.getByRole("heading", { name: "Log in" }).waitFor();
      await page.getByLabel("Email address").fill(email);
      await page.getByLabel("Password").fill("wrong password!");
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByText("The email address or the password is wrong.").waitFor();
      // by keyboard this time: Tab from the email to the password, Enter submits; focus is visible
      await page.getByLabel("Password").fill("");
      await page.getByLabel("Email address").focus();
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => {
        const el = document.activeElement;
        return { label: el?.labels?.[0]?.textContent ?? "", outline: el ? getComputedStyle(el).outlineStyle : "none" };
      });
      if (focused.label !== "Password") throw new Error(`Tab went to ${JSON.stringify(focused)}`);
      if (focused.outline === "none") throw new Error("the focused field shows no focus ring");
      await page.keyboard.type(password);
      await shot("login");
      await page.keyboard.press("Enter");
      await page.waitForURL(`${base}/hostnames`);
      await page.getByText("You have no hostname yet").waitFor();
      await page.getByText(email).waitFor();
    },
  ],
  [
    "claim a hostname, with live validation of the name",
    async () => {
      const name = page.getByLabel("Name", { exact: true });
      await name.fill("-bad");
      await page.getByText("It can’t begin or end with a hyphen.").waitFor();
      await name.fill("www");
      await page.getByRole("button", { name: "Claim" }).click();
      await page.getByText("That name is reserved by the operator. Try another one.").waitFor();
      await name.fill(label);
      const zone = await page.getByLabel("Base zone").inputValue();
      host = `${label}.${zone.replace(/\.$/, "")}`;
      await page.getByRole("button", { name: "Claim" }).click();
      await page.getByText(`${host} is yours.`).waitFor();
      await page.getByRole("link", { name: host }).waitFor();
      await shot("hostnames");
    },
  ],
  [
    "add an A record",
    async () => {
      await page.getByRole("link", { name: host }).click();
      await page.getByRole("heading", { name: host }).waitFor();
      await page.getByRole("button", { name: "Add a record" }).click();
      const form = page.getByRole("form", { name: "New record" });
      await form.getByLabel("IPv4 address").fill("192.0.2.300");
      await form.getByRole("button", { name: "Add the record" }).click();
      await form.getByText(/Not an IPv4 address/).waitFor();
      await form.getByLabel("IPv4 address").fill(first);
      await form.getByRole("button", { name: "Add the record" }).click();
      await page.getByText(`Added ${host} A ${first}.`).waitFor();
      await section("Records").locator("td", { hasText: first }).waitFor();
    },
  ],
  [
    "the DNS panel shows the new address",
    async () => {
      await dnsShows(first);
      await shot("hostname-record");
    },
  ],
  [
    "create an update token, shown once with client snippets",
    async () => {
      const tokens = section("Update tokens");
      await tokens.getByLabel("Name (optional)").fill("e2e router");
      await tokens.getByRole("button", { name: "Create a token" }).click();
      token = (await page.getByTestId("update-token").innerText()).trim();
      if (!/^[A-Za-z0-9_-]{43}$/.test(token)) throw new Error(`not a token: ${token}`);
      await page.getByRole("tab", { name: "curl" }).click();
      const curlText = await page.getByTestId("snippet-curl").innerText();
      if (!curlText.includes(`${host}:${token}`) || !curlText.includes(`${base}/nic/update?hostname=${host}`))
        throw new Error(`unexpected curl snippet: ${curlText}`);
      await page.getByRole("tab", { name: "ddclient" }).click();
      await page.getByTestId("snippet-ddclient").getByText(`login=${host}`).waitFor();
      await tokens.locator("td", { hasText: "e2e router" }).waitFor();
      await shot("update-token");
    },
  ],
  [
    "a dyndns2 update with curl and the token changes the A record",
    async () => {
      const out = execFileSync("curl", ["-sS", "--max-time", "10", "-A", "e2e-curl", "-u", `${host}:${token}`, `${base}/nic/update?hostname=${host}&myip=${second}`]).toString();
      if (out.trim() !== `good ${second}`) throw new Error(`answer: ${out}`);
      const bad = execFileSync("curl", ["-sS", "--max-time", "10", "-u", `${host}:${"A".repeat(43)}`, `${base}/nic/update?hostname=${host}&myip=${second}`]).toString();
      if (bad.trim() !== "badauth") throw new Error(`a wrong token answered: ${bad}`);
    },
  ],
  [
    "the DNS panel shows the address the update set",
    async () => {
      await dnsShows(second);
    },
  ],
  [
    "the history shows both changes, and the token its last use",
    async () => {
      await page.reload();
      await page.getByRole("heading", { name: host }).waitFor();
      const history = page.getByTestId("history");
      await history.getByText(`+ ${host} A ${first}`).waitFor();
      await history.getByText(`${host} A: ${first} → ${second}`).waitFor();
      await history.getByText(/by Update token #\d+/).first().waitFor();
      await section("Records").locator("td", { hasText: second }).waitFor();
      await section("Update tokens").locator("td", { hasText: "127.0.0.1" }).waitFor();
      await dnsShows(second);
      await shot("hostname-history");
    },
  ],
  [
    "make an ES256 key pair in the browser; the public key is registered",
    async () => {
      await page.getByRole("link", { name: "API keys" }).click();
      await page.getByRole("heading", { name: "API keys" }).waitFor();
      await section("Make a new key pair here").getByLabel("Name (optional)").fill("e2e laptop");
      await page.getByRole("button", { name: "Make a key pair" }).click();
      await page.getByTestId("private-key-download").waitFor();
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("private-key-download").click()]);
      const pem = readFileSync(await download.path(), "utf8");
      if (!pem.startsWith("-----BEGIN PRIVATE KEY-----")) throw new Error("the download is not a PKCS#8 PEM");
      await section("Your keys").locator("td", { hasText: "e2e laptop" }).waitFor();
      await shot("keys");
      // the page's example, run as it is: a token signed with the downloaded key lists the hostname
      const example = await page.getByTestId("jwt-example").innerText();
      const dir = mkdtempSync(join(tmpdir(), "ddns-e2e-"));
      try {
        writeFileSync(join(dir, "sign-token.mjs"), example.slice(0, example.indexOf("# then, in a shell:")));
        writeFileSync(join(dir, "key.pem"), pem, { mode: 0o600 });
        const jwt = execFileSync(process.execPath, [join(dir, "sign-token.mjs"), join(dir, "key.pem")]).toString().trim();
        const out = execFileSync("curl", ["-sS", "--max-time", "10", "-H", `Authorization: Bearer ${jwt}`, `${base}/api/v1/domains`]).toString();
        if (!out.includes(`"${host}."`)) throw new Error(`GET /api/v1/domains with the example's token: ${out}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  ],
  [
    "the account page shows the account",
    async () => {
      await page.getByRole("link", { name: "Account" }).click();
      await page.getByRole("heading", { name: "Account", exact: true }).waitFor();
      await section("Your account").getByText(email).waitFor();
      await shot("account");
    },
  ],
  [
    "log out ends the session",
    async () => {
      await page.getByRole("button", { name: "Log out" }).click();
      await page.getByText("You are logged out.").waitFor();
      await shot("logged-out");
      await page.goto(`${base}/hostnames`);
      await page.waitForURL(/\/login\?next=/);
      const me = await page.evaluate(async () => (await fetch("/api/v1/me")).status);
      if (me !== 401) throw new Error(`GET /api/v1/me answered ${me} after logout`);
    },
  ],
  [
    "no serious accessibility findings on any page (axe-core, WCAG 2.1 A/AA)",
    async () => {
      if (a11y.length > 0) throw new Error(a11y.join("\n"));
    },
  ],
  [
    "no errors in the browser console",
    async () => {
      // HTTP errors the page expects and shows (401 logged out, 409 a reserved name) are logged by
      // Chromium as "Failed to load resource"; they are not errors of the page
      const real = consoleErrors.filter((e) => !/^Failed to load resource: the server responded with a status of [0-9]+/.test(e));
      if (real.length > 0) throw new Error(real.join("\n"));
    },
  ],
];

console.log("TAP version 13");
console.log(`1..${steps.length}`);
let failed = false;
let n = 0;
for (const [name, fn] of steps) {
  n++;
  if (failed) {
    console.log(`ok ${n} - ${name} # SKIP an earlier step failed`);
    continue;
  }
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok ${n} - ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed = true;
    console.log(`not ok ${n} - ${name}`);
    for (const line of String(e?.stack ?? e).split("\n").slice(0, 15)) console.log(`# ${line}`);
    console.log(`# at ${page.url()}`);
    await page.screenshot({ path: join(shots, `failed-${n}.png`), fullPage: true }).catch(() => undefined);
  }
}
await browser.close();
process.exit(failed ? 1 : 0);
