/**
 * Apache's configuration as the model reads it: exact readings of
 * hand-made trees. test/lab/apache-config.test.ts starts the real apache2
 * on such trees and compares what answers.
 */
import { apacheServes, apacheSockets, readApache } from "../../lib/reachability/apache";
import { ipNum } from "../../lib/reachability/ip";

/** Debian's apache2.conf, cut to what the model reads. */
const APACHE2_CONF = [
  "# ServerRoot: the top of the directory tree",
  '#ServerRoot "/etc/apache2"',
  "IncludeOptional mods-enabled/*.load",
  "IncludeOptional mods-enabled/*.conf",
  "Include ports.conf",
  "<Directory /var/www/>",
  "\tAllowOverride None",
  "</Directory>",
  "IncludeOptional conf-enabled/*.conf",
  "IncludeOptional sites-enabled/*.conf",
  "",
].join("\n");

/** Debian's ports.conf. */
const PORTS_CONF = ["Listen 80", "", "<IfModule ssl_module>", "\tListen 443", "</IfModule>", "", "<IfModule mod_gnutls.c>", "\tListen 443", "</IfModule>", ""].join("\n");

const SSL_LOAD = "# Depends: setenvif mime socache_shmcb\nLoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so\n";

function host(files: Record<string, string>): Record<string, string> {
  return { "/etc/apache2/apache2.conf": APACHE2_CONF, "/etc/apache2/ports.conf": PORTS_CONF, ...files };
}

/** What serves each socket: the outcome, and the site or why. */
function serves(files: Record<string, string>, sockets: string[]): Record<string, string> {
  const a = readApache(files)!;
  const out: Record<string, string> = {};
  for (const s of sockets) {
    const [address, port] = s.split(":");
    const r = apacheServes(a, ipNum(address)!, Number(port));
    out[s] = r.outcome === "pass" ? `pass ${r.vhost!.site}` : r.outcome === "unknown" ? `unknown: ${r.doubt}` : "drop";
  }
  return out;
}

describe("Apache's configuration, as apache2 reads it when it starts", () => {
  it("without apache2.conf (what a deploy writes): ports.conf, then the sites' *.conf, as Debian includes them", () => {
    const files = {
      "/etc/apache2/ports.conf": "# Generated\nListen 192.0.2.1:80\n",
      "/etc/apache2/sites-available/a.conf": "# Generated\n<VirtualHost 192.0.2.1:80>\n    DocumentRoot /var/www/a\n</VirtualHost>\n",
      "/etc/apache2/sites-available/notes.txt": "<VirtualHost 192.0.2.2:80>\n</VirtualHost>\n",
    };
    expect(readApache(files)).toEqual({
      listens: [{ address: ipNum("192.0.2.1"), port: 80, where: "ports.conf line 2", maybe: undefined }],
      listensFrom: "configuration",
      vhosts: [{ address: ipNum("192.0.2.1"), port: 80, where: "a.conf line 2", site: "a", maybe: undefined }],
      unreadable: [],
      mayNotStart: [],
    });
    expect(readApache({ "/etc/apache2/sites-available/a.conf": files["/etc/apache2/sites-available/a.conf"] })).toBeUndefined();
  });

  it("Debian's ports.conf: Listen 443 counts only with mod_ssl loaded before it", () => {
    const site = { "/etc/apache2/sites-enabled/tls.conf": "<VirtualHost 192.0.2.1:443>\n</VirtualHost>\n<VirtualHost *:80>\n</VirtualHost>\n" };
    expect(serves(host(site), ["192.0.2.1:80", "192.0.2.1:443"])).toEqual({ "192.0.2.1:80": "pass tls", "192.0.2.1:443": "drop" });
    expect(serves(host({ ...site, "/etc/apache2/mods-enabled/ssl.load": SSL_LOAD }), ["192.0.2.1:443"])).toEqual({ "192.0.2.1:443": "pass tls" });
    // Loaded after ports.conf is too late: <IfModule> is decided where it stands.
    expect(serves(host({ ...site, "/etc/apache2/conf-enabled/ssl.conf": SSL_LOAD }), ["192.0.2.1:443"])).toEqual({ "192.0.2.1:443": "drop" });
    // mod_gnutls by its source file's name.
    expect(serves(host({ ...site, "/etc/apache2/mods-enabled/gnutls.load": "LoadModule gnutls_module /usr/lib/apache2/modules/mod_gnutls.so\n" }), ["192.0.2.1:443"])).toEqual({ "192.0.2.1:443": "pass tls" });
  });

  it("<IfModule !...>, modules compiled in, and a module file not named mod_<name>.so", () => {
    const ports = "<IfModule !mod_ssl.c>\nListen 8080\n</IfModule>\n<IfModule mod_version.c>\nListen 8081\n</IfModule>\n<IfModule php_module>\nListen 8082\n</IfModule>\n<IfModule mod_php.c>\nListen 8083\n</IfModule>\n";
    const site = { "/etc/apache2/sites-enabled/x.conf": "<VirtualHost *>\n</VirtualHost>\n" };
    const sockets = ["192.0.2.1:8080", "192.0.2.1:8081", "192.0.2.1:8082", "192.0.2.1:8083"];
    expect(serves(host({ ...site, "/etc/apache2/ports.conf": ports }), sockets)).toEqual({
      "192.0.2.1:8080": "pass x",
      "192.0.2.1:8081": "pass x",
      "192.0.2.1:8082": "drop",
      "192.0.2.1:8083": "drop",
    });
    const php = { "/etc/apache2/mods-enabled/php8.2.load": "LoadModule php_module /usr/lib/apache2/modules/libphp8.2.so\n" };
    expect(serves(host({ ...site, ...php, "/etc/apache2/ports.conf": ports }), sockets)).toEqual({
      "192.0.2.1:8080": "unknown: <IfModule !mod_ssl.c>: a module loaded from libphp8.2.so (a file not named mod_<name>.so) may be mod_ssl.c",
      "192.0.2.1:8081": "pass x",
      "192.0.2.1:8082": "pass x",
      "192.0.2.1:8083": "unknown: <IfModule mod_php.c>: a module loaded from libphp8.2.so (a file not named mod_<name>.so) may be mod_php.c",
    });
  });

  it("Listen and <VirtualHost> addresses: every address, every port, the address named first", () => {
    const files = host({
      "/etc/apache2/ports.conf": "Listen 0.0.0.0:8080\nListen [::]:8081\nListen [2001:db8::1]:8082\nListen 192.0.2.1:8083 https\n",
      "/etc/apache2/sites-enabled/x.conf": "<VirtualHost 0.0.0.0:8080>\n</VirtualHost>\n<VirtualHost *>\n</VirtualHost>\n",
      "/etc/apache2/sites-enabled/y.conf": "<VirtualHost 192.0.2.2>\n</VirtualHost>\n<VirtualHost [::]:8082 _default_:8083>\n</VirtualHost>\n",
    });
    expect(serves(files, ["192.0.2.1:8080", "192.0.2.2:8080", "192.0.2.1:8081", "192.0.2.2:8081", "192.0.2.1:8082", "192.0.2.1:8083", "192.0.2.2:8083"])).toEqual({
      "192.0.2.1:8080": "pass x",
      "192.0.2.2:8080": "pass y",
      "192.0.2.1:8081": "pass x",
      "192.0.2.2:8081": "pass y",
      "192.0.2.1:8082": "drop",
      "192.0.2.1:8083": "pass x",
      "192.0.2.2:8083": "drop",
    });
  });

  it("Listen in a site's file, a directory Include, ServerRoot, sections inside a <VirtualHost>, a <Macro>'s body, a line that goes on", () => {
    const files = host({
      "/etc/apache2/ports.conf": "Include extra\n",
      "/etc/apache2/extra/b.conf": "Listen 192.0.2.1:8002\n",
      "/etc/apache2/extra/a.conf": "Listen \\\n  192.0.2.1:8001\n",
      "/etc/apache2/sites-enabled/x.conf": [
        "Listen 192.0.2.1:8003",
        "<VirtualHost *:8001 *:8002 *:8003 *:8004>",
        "  <IfModule ssl_module>",
        "  </VirtualHost>",
        "<Macro Site $port>",
        "  Listen $port",
        "</Macro>",
        "ServerRoot /srv/apache",
        "IncludeOptional more/*.conf",
        "",
      ].join("\n"),
      "/srv/apache/more/z.conf": "Listen 192.0.2.1:8004\n",
      "/etc/apache2/sites-available/off.conf": "Listen 192.0.2.1:8005\n<VirtualHost *:8005>\n</VirtualHost>\n",
    });
    const a = readApache(files)!;
    expect(a.listens.map((l) => `${l.port} ${l.where}`)).toEqual(["8001 a.conf line 1", "8002 b.conf line 1", "8003 x.conf line 1", "8004 z.conf line 1"]);
    expect(a.unreadable).toEqual([]);
    expect(serves(files, ["192.0.2.1:8004", "192.0.2.1:8005"])).toEqual({ "192.0.2.1:8004": "pass x", "192.0.2.1:8005": "drop" });
  });

  it("what the files leave open is unknown, with its reason, and never a socket that is there, unless Apache may not start at all", () => {
    const site = { "/etc/apache2/sites-enabled/x.conf": "<VirtualHost *:80>\n</VirtualHost>\n<VirtualHost www.example.org:8080>\n</VirtualHost>\n" };
    const open = (ports: string, more: Record<string, string> = {}) => serves(host({ ...site, ...more, "/etc/apache2/ports.conf": ports }), ["192.0.2.1:80"])["192.0.2.1:80"];
    expect(open("<IfDefine SSL>\nListen 80\n</IfDefine>\n")).toBe("unknown: <IfDefine SSL>: what apache2 is started with (-D) is not in the files");
    expect(open("Listen www.example.org:80\n")).toBe("unknown: Listen www.example.org:80: Apache looks www.example.org up when it starts");
    expect(open("Include /srv/apache/*.conf\n")).toBe('unknown: the model cannot read /etc/apache2/ports.conf line 1 "Include /srv/apache/*.conf": the files hold nothing it names (Apache does not start so; or the copy does not hold it)');
    expect(open("Include ${APACHE_CONFDIR}/more.conf\n")).toBe('unknown: the model cannot read /etc/apache2/ports.conf line 1 "Include ${APACHE_CONFDIR}/more.conf": an Include with a variable is not read by the model');
    expect(open("Use Site 80\n")).toBe('unknown: the model cannot read /etc/apache2/ports.conf line 1 "Use Site 80": a macro (mod_macro) is not read by the model: it may add a Listen or a <VirtualHost>');
    expect(open("Listen 80x\n")).toBe('unknown: the model cannot read /etc/apache2/ports.conf line 1 "Listen 80x": a Listen address the model does not read');
    // IncludeOptional of nothing is nothing; a Listen that is there passes whatever else the files leave open.
    expect(open("IncludeOptional /srv/apache/*.conf\n")).toBe("drop");
    expect(open("Listen 80\nUse Site 81\n")).toBe("pass x");
    // An Include of nothing the files hold, outside a section or in one, may keep Apache from starting: then no socket is there for certain.
    const missing = 'unknown: the model cannot read /etc/apache2/ports.conf line 2 "Include /srv/apache/more.conf": the files hold nothing it names (Apache does not start so; or the copy does not hold it)';
    expect(open("Listen 80\nInclude /srv/apache/more.conf\n")).toBe(missing);
    const inSection = { "/etc/apache2/sites-enabled/x.conf": "<VirtualHost *:80>\n  Include /etc/letsencrypt/options-ssl-apache.conf\n  IncludeOptional /srv/none/*.conf\n</VirtualHost>\n" };
    expect(serves(host({ ...inSection, "/etc/apache2/ports.conf": "Listen 80\n" }), ["192.0.2.1:80"])).toEqual({ "192.0.2.1:80": 'unknown: the model cannot read /etc/apache2/sites-enabled/x.conf line 2 "Include /etc/letsencrypt/options-ssl-apache.conf": the files hold nothing it names (Apache does not start so; or the copy does not hold it)' });
    // Held, with an Include of its own of nothing, the same; held whole, the site is served.
    const held = { ...inSection, "/etc/apache2/ports.conf": "Listen 80\n", "/etc/letsencrypt/options-ssl-apache.conf": "SSLSessionTickets off\n" };
    expect(serves(host(held), ["192.0.2.1:80"])).toEqual({ "192.0.2.1:80": "pass x" });
    expect(serves(host({ ...held, "/etc/letsencrypt/options-ssl-apache.conf": "Include /etc/letsencrypt/gone.conf\n" }), ["192.0.2.1:80"])["192.0.2.1:80"]).toBe('unknown: the model cannot read /etc/letsencrypt/options-ssl-apache.conf line 1 "Include /etc/letsencrypt/gone.conf": the files hold nothing it names (Apache does not start so; or the copy does not hold it)');
    expect(serves(host({ ...site, "/etc/apache2/ports.conf": "Listen 8080\n" }), ["192.0.2.1:8080"])).toEqual({ "192.0.2.1:8080": "unknown: <VirtualHost www.example.org:8080>: Apache looks www.example.org up when it starts" });
    // Without apache2.conf, which modules are loaded is not known.
    expect(serves({ "/etc/apache2/sites-enabled/x.conf": "<VirtualHost *:443>\n</VirtualHost>\n", "/etc/apache2/ports.conf": PORTS_CONF }, ["192.0.2.1:443"])).toEqual({ "192.0.2.1:443": "unknown: <IfModule ssl_module>: the files hold no apache2.conf, so which modules Apache loads is not known" });
  });

  it("what Apache listens on now (ss -Hltnp), captured, in place of its Listen lines", () => {
    const ss = [
      'LISTEN 0      511          0.0.0.0:8080      0.0.0.0:*    users:(("apache2",pid=20,fd=4),("apache2",pid=19,fd=4))',
      'LISTEN 0      511                *:80              *:*    users:(("apache2",pid=20,fd=3))',
      'LISTEN 0      511             [::]:8081         [::]:*    users:(("apache2",pid=20,fd=5))',
      'LISTEN 0      511        192.0.2.2:8443      0.0.0.0:*    users:(("httpd",pid=7,fd=3))',
      'LISTEN 0      128          0.0.0.0:22        0.0.0.0:*    users:(("sshd",pid=5,fd=3))',
      "LISTEN 0      511        192.0.2.1:9000      0.0.0.0:*",
      'LISTEN 0      511    0.0.0.0%eth1:9001      0.0.0.0:*    users:(("apache2",pid=20,fd=6))',
      'LISTEN 0      511 [::ffff:192.0.2.1]:9002      [::]:*    users:(("apache2",pid=20,fd=7))',
      "",
    ].join("\n");
    expect(apacheSockets(ss).map((l) => `${l.address === undefined ? "*" : l.address === ipNum("192.0.2.1") ? ".1" : ".2"}:${l.port} ${l.where}${l.maybe ? `: ${l.maybe}` : ""}`)).toEqual([
      "*:8080 ss -Hltnp line 1",
      "*:80 ss -Hltnp line 2",
      ".2:8443 ss -Hltnp line 4",
      ".1:9000 ss -Hltnp line 6: ss -Hltnp line 6 names no process (ss -Hltnp run as root names them)",
      "*:9001 ss -Hltnp line 7: ss -Hltnp line 7: bound to eth1 only",
      ".1:9002 ss -Hltnp line 8",
    ]);
    // The configuration says Listen 80; Apache does not run: nothing listens.
    const files = host({ "/etc/apache2/ports.conf": "Listen 80\n", "/etc/apache2/sites-enabled/x.conf": "<VirtualHost *:80>\n</VirtualHost>\n" });
    expect(serves(files, ["192.0.2.1:80"])).toEqual({ "192.0.2.1:80": "pass x" });
    const stopped = readApache(files, "")!;
    expect(apacheServes(stopped, ipNum("192.0.2.1")!, 80).outcome).toBe("drop");
    expect(apacheServes(readApache(files, ss)!, ipNum("192.0.2.1")!, 80).outcome).toBe("pass");
    // A line of the files the model cannot read leaves the virtual hosts open, not what was captured.
    const doubtful = host({ "/etc/apache2/ports.conf": "Listen 80\nUse Site 81\n", "/etc/apache2/sites-enabled/x.conf": "<VirtualHost *:80>\n</VirtualHost>\n" });
    expect(apacheServes(readApache(doubtful, "")!, ipNum("192.0.2.1")!, 80).outcome).toBe("drop");
  });
});
