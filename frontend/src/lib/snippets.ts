// Ready-to-paste configurations for dynamic DNS clients, from an update
// token (see ../shared/DYNDNS-CLIENTS.md beside the checkout for what each
// client sends). Pure functions: the page shows what they return.

export interface SnippetInput {
  /** The hostname the token updates, without the final dot: alice.dyn.test */
  hostname: string;
  /** The update token (43 characters of base64url). */
  token: string;
  /** Where the dyndns2 protocol is served: the dashboard's origin, e.g. https://dyn.example.net */
  origin: string;
}

export interface Snippet {
  id: "ddclient" | "inadyn" | "openwrt" | "fritzbox" | "curl";
  title: string;
  /** Where it goes, for people. */
  where: string;
  text: string;
}

interface Server {
  https: boolean;
  /** host[:port], the port only when it is not the scheme's default */
  hostPort: string;
  /** the origin without a final slash */
  origin: string;
}

export function server(origin: string): Server {
  const u = new URL(origin);
  const https = u.protocol === "https:";
  return { https, hostPort: u.host, origin: `${u.protocol}//${u.host}` };
}

function bareHost(h: string): string {
  return h.trim().toLowerCase().replace(/\.$/, "");
}

/** Single-quotes @s for a POSIX shell. */
export function shellQuote(s: string): string {
  return "'" + s.replace(/'/g, `'\\''`) + "'";
}

export function ddclient(i: SnippetInput): string {
  const s = server(i.origin);
  const host = bareHost(i.hostname);
  return [
    "# /etc/ddclient.conf (mode 600)",
    "daemon=300",
    "syslog=yes",
    `ssl=${s.https ? "yes" : "no"}`,
    `use=web, web=${s.origin}/nic/checkip`,
    "protocol=dyndns2",
    `server=${s.hostPort}`,
    `login=${host}`,
    `password='${i.token}'`,
    host,
    "",
  ].join("\n");
}

export function inadyn(i: SnippetInput): string {
  const s = server(i.origin);
  const host = bareHost(i.hostname);
  return [
    "# /etc/inadyn.conf",
    "period = 300",
    "custom ddns {",
    `    ssl = ${s.https}`,
    `    username = ${host}`,
    `    password = ${i.token}`,
    `    ddns-server = ${s.hostPort}`,
    '    ddns-path = "/nic/update?hostname=%h&myip=%i"',
    `    checkip-server = ${s.hostPort}`,
    "    checkip-path = /nic/checkip",
    `    checkip-ssl = ${s.https}`,
    `    hostname = ${host}`,
    "}",
    "",
  ].join("\n");
}

export function openwrt(i: SnippetInput): string {
  const s = server(i.origin);
  const host = bareHost(i.hostname);
  const section = "ddns_" + host.replace(/[^a-z0-9]/g, "_");
  // ddns-scripts fills [USERNAME] [PASSWORD] [DOMAIN] [IP]; with use_https it
  // turns the http:// of update_url into https:// itself
  const url = `http://${s.hostPort}/nic/update?hostname=[DOMAIN]&myip=[IP]&username=[USERNAME]&password=[PASSWORD]`;
  const lines = [
    "# /etc/config/ddns (then: /etc/init.d/ddns restart)",
    `config service '${section}'`,
    "\toption enabled '1'",
    `\toption lookup_host '${host}'`,
    `\toption domain '${host}'`,
    `\toption username '${host}'`,
    `\toption password '${i.token}'`,
    `\toption update_url '${url}'`,
    `\toption use_https '${s.https ? 1 : 0}'`,
  ];
  if (s.https) lines.push("\toption cacert '/etc/ssl/certs'");
  lines.push(
    "\toption ip_source 'network'",
    "\toption ip_network 'wan'",
    "\toption interface 'wan'",
    "\toption use_ipv6 '0'",
    "\toption check_interval '5'",
    "\toption check_unit 'minutes'",
    "",
  );
  return lines.join("\n");
}

export function fritzbox(i: SnippetInput): string {
  const s = server(i.origin);
  const host = bareHost(i.hostname);
  return [
    "Internet > Permit Access > DynDNS (Internet > Freigaben > DynDNS)",
    "DynDNS provider (Anbieter): User-defined (Benutzerdefiniert)",
    `Update URL:  ${s.origin}/nic/update?hostname=<domain>&myip=<ipaddr>`,
    `Domain name (Domainname):  ${host}`,
    `Username (Benutzername):   ${host}`,
    `Password (Kennwort):       ${i.token}`,
    "",
    "For IPv6 as well, put a second URL after a space in the Update URL field:",
    `  ${s.origin}/nic/update?hostname=<domain>&myip=<ip6addr>`,
    "",
  ].join("\n");
}

export function curl(i: SnippetInput, myip?: string): string {
  const s = server(i.origin);
  const host = bareHost(i.hostname);
  const query = `hostname=${encodeURIComponent(host)}` + (myip ? `&myip=${encodeURIComponent(myip)}` : "");
  const lines = [];
  if (!myip) lines.push("# the address this request comes from; add &myip=ADDRESS to set another");
  lines.push(`curl -fsS -u ${shellQuote(`${host}:${i.token}`)} ${shellQuote(`${s.origin}/nic/update?${query}`)}`);
  lines.push("# answers: good ADDRESS (changed), nochg ADDRESS (already so), badauth, nohost, abuse, 911 (try later)");
  return lines.join("\n") + "\n";
}

/** Every snippet, in the order the page shows them. */
export function snippets(i: SnippetInput): Snippet[] {
  return [
    { id: "ddclient", title: "ddclient", where: "/etc/ddclient.conf", text: ddclient(i) },
    { id: "inadyn", title: "inadyn", where: "/etc/inadyn.conf", text: inadyn(i) },
    { id: "openwrt", title: "OpenWrt ddns-scripts", where: "/etc/config/ddns", text: openwrt(i) },
    { id: "fritzbox", title: "Fritz!Box", where: "the router’s web interface", text: fritzbox(i) },
    { id: "curl", title: "curl", where: "a shell or a cron job", text: curl(i) },
  ];
}
