/**
 * Apache's configuration, the model's reading against the real apache2's:
 * Debian's own /etc/apache2, copied, with ports.conf and sites of each kind
 * the model reads (Debian's `<IfModule ssl_module>`, mod_ssl enabled or not,
 * `0.0.0.0` and `[::]`, `<VirtualHost>` without a port, a Listen in a site's
 * file). apache2 runs in the foreground in a namespace of its own, on RFC
 * 5737 addresses on its loopback, and curl asks each socket which site
 * answers. The copy is read as `cdktf-xen doctor` reads one, with what
 * Apache listens on captured (`ss -Hltnp`) while it runs and once stopped;
 * and as `cdktf-xen import` reads its sites: the DocumentRoot it takes is
 * the one apache2 served from.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { readHostCopy } from "../../lib/adopt/host-copy";
import { readSiteBlocks } from "../../lib/adopt/import";
import { apacheServes, readApache, STATIC_MODULES } from "../../lib/reachability/apache";
import { ipNum } from "../../lib/reachability/ip";
import { describeWith, netns, run, withSbin } from "../support/tools";

interface Case {
  readonly title: string;
  readonly ports: string;
  /** Files of sites-enabled (and sites-available, by a path with a folder), by name. */
  readonly sites: Record<string, string>;
  readonly ssl?: boolean;
  /** What the real apache2 answers on each socket: the site, `main` (no virtual host), or `refused`. */
  readonly answers: Record<string, string>;
  /** The file (without .conf) of the section that serves a site, where that file does not name the site's folder itself. */
  readonly sectionFiles?: Record<string, string>;
}

/** A virtual host that serves its site's folder. */
function vhost(addresses: string, site: string): string {
  return `<VirtualHost ${addresses}>\n    ServerName ${site}.test\n    DocumentRoot SITES/${site}\n</VirtualHost>\n`;
}

const DEBIAN_PORTS = ["Listen 80", "", "<IfModule ssl_module>", "\tListen 443", "</IfModule>", "", "<IfModule mod_gnutls.c>", "\tListen 443", "</IfModule>", ""].join("\n");

const CASES: readonly Case[] = [
  {
    title: "Debian's ports.conf without mod_ssl: no Listen 443",
    ports: DEBIAN_PORTS,
    sites: { "x.conf": vhost("192.0.2.1:443", "a") + vhost("*:80", "b") },
    answers: { "192.0.2.1:80": "b", "192.0.2.1:443": "refused" },
  },
  {
    title: "Debian's ports.conf with mod_ssl enabled: Listen 443",
    ports: DEBIAN_PORTS,
    sites: { "x.conf": vhost("192.0.2.1:443", "a") + vhost("*:80", "b") },
    ssl: true,
    answers: { "192.0.2.1:80": "b", "192.0.2.1:443": "a" },
  },
  {
    title: "0.0.0.0 and [::] take every address; a <VirtualHost> without a port serves every port, before *",
    ports: "Listen 0.0.0.0:8080\nListen [::]:8081\n",
    sites: { "x.conf": vhost("0.0.0.0:8080", "a") + vhost("*", "b"), "y.conf": vhost("192.0.2.2", "c") },
    answers: { "192.0.2.1:8080": "a", "192.0.2.2:8080": "c", "192.0.2.1:8081": "b", "192.0.2.2:8081": "c", "192.0.2.1:80": "refused" },
  },
  {
    title: "a Listen in a site's file; <IfModule !mod_ssl.c>; a site that is not enabled",
    ports: "<IfModule !mod_ssl.c>\nListen 192.0.2.1:9090\n</IfModule>\n",
    sites: { "y.conf": `Listen 192.0.2.2:8443\n${vhost("192.0.2.2:8443", "a")}`, "../sites-available/off.conf": `Listen 9000\n${vhost("*:9000", "b")}` },
    answers: { "192.0.2.2:8443": "a", "192.0.2.1:9090": "main", "192.0.2.1:9000": "refused" },
  },
  {
    title: "a section's last DocumentRoot, not one in an <IfModule> of a module not loaded",
    ports: "Listen 80\n",
    sites: { "x.conf": "<VirtualHost 192.0.2.1:80>\n    ServerName a.test\n    DocumentRoot SITES/c\n    DocumentRoot SITES/a\n    <IfModule mod_not_loaded.c>\n        DocumentRoot SITES/b\n    </IfModule>\n</VirtualHost>\n" },
    answers: { "192.0.2.1:80": "a" },
  },
  {
    title: "a DocumentRoot from a file an Include in the section names, after the section's own",
    ports: "Listen 80\n",
    sites: { "x.conf": "<VirtualHost 192.0.2.1:80>\n    ServerName a.test\n    DocumentRoot SITES/c\n    Include site-parts/x/\n</VirtualHost>\n", "../site-parts/x/root.conf": "DocumentRoot SITES/a\n" },
    answers: { "192.0.2.1:80": "a" },
    sectionFiles: { a: "x" },
  },
];

const SSL_MODULES = ["ssl.load", "ssl.conf", "socache_shmcb.load"];

describeWith(["root", "ip", "ss", "curl", "apache2", "/etc/apache2/apache2.conf", "/etc/apache2/mods-available/ssl.load"], "Apache's configuration: the model's reading against the real apache2", () => {
  it("the modules the model takes as compiled in are apache2's (apache2 -l)", () => {
    const r = run("apache2", ["-l"]);
    expect(r.status).toBe(0);
    const compiled = r.stdout.split("\n").filter((l) => /^\s+\S+\.c$/.test(l)).map((l) => l.trim());
    expect(compiled).toEqual(STATIC_MODULES.map(([file]) => file));
  });

  it("what apache2 answers on each socket is what the model reads: served by a site (pass), or refused or no site (drop)", async () => {
    // Under /tmp, not the tests' TMPDIR (mode 700): apache2's children, as www-data, read the sites' folders.
    const tmp = { dir: fs.mkdtempSync("/tmp/cdktf-xen-apache-"), remove: () => fs.rmSync(tmp.dir, { recursive: true, force: true }) };
    const ns = netns("ap");
    let apache: ReturnType<typeof spawn> | undefined;
    const stop = async () => {
      const child = apache;
      apache = undefined;
      if (!child || child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
      await exited;
      clearTimeout(timer);
    };
    try {
      fs.chmodSync(tmp.dir, 0o755);
      const conf = path.join(tmp.dir, "web", "etc", "apache2");
      fs.mkdirSync(path.dirname(conf), { recursive: true });
      expect(run("cp", ["-a", "/etc/apache2", conf]).status).toBe(0);
      const sites = path.join(tmp.dir, "www");
      for (const s of ["a", "b", "c", "main"]) {
        fs.mkdirSync(path.join(sites, s), { recursive: true });
        fs.writeFileSync(path.join(sites, s, "index.html"), `site ${s}\n`);
      }
      const runDir = path.join(tmp.dir, "run");
      fs.mkdirSync(runDir);
      fs.mkdirSync(path.join(tmp.dir, "log"));
      fs.writeFileSync(path.join(conf, "conf-enabled", "zz-test.conf"), `ServerName main.test\nDocumentRoot ${sites}/main\n<Directory ${sites}>\n    Require all granted\n</Directory>\n`);
      ns.sh("ip", "link", "set", "lo", "up");
      for (const a of ["192.0.2.1", "192.0.2.2"]) ns.sh("ip", "addr", "add", `${a}/32`, "dev", "lo");
      const env = withSbin({ APACHE_RUN_USER: "www-data", APACHE_RUN_GROUP: "www-data", APACHE_PID_FILE: path.join(runDir, "apache2.pid"), APACHE_RUN_DIR: runDir, APACHE_LOCK_DIR: runDir, APACHE_LOG_DIR: path.join(tmp.dir, "log"), LANG: "C" });

      const real: Record<string, Record<string, string>> = {};
      const stopped: Record<string, Record<string, string>> = {};
      const model: Record<string, Record<string, string>> = {};
      const modelRunning: Record<string, Record<string, string>> = {};
      const modelStopped: Record<string, Record<string, string>> = {};
      const imported: Record<string, Record<string, string | undefined>> = {};
      const served: Record<string, Record<string, string>> = {};
      for (const c of CASES) {
        for (const f of fs.readdirSync(path.join(conf, "sites-enabled"))) fs.rmSync(path.join(conf, "sites-enabled", f));
        for (const f of fs.readdirSync(path.join(conf, "sites-available"))) if (f === "off.conf") fs.rmSync(path.join(conf, "sites-available", f));
        for (const m of SSL_MODULES) {
          fs.rmSync(path.join(conf, "mods-enabled", m), { force: true });
          if (c.ssl) fs.symlinkSync(`../mods-available/${m}`, path.join(conf, "mods-enabled", m));
        }
        fs.writeFileSync(path.join(conf, "ports.conf"), c.ports);
        for (const [name, text] of Object.entries(c.sites)) {
          const file = path.join(conf, "sites-enabled", name);
          fs.mkdirSync(path.dirname(file), { recursive: true });
          fs.writeFileSync(file, text.replace(/SITES/g, sites));
        }

        // In the foreground, so that the process started is the one stopped; ready once it has written its pid file.
        fs.rmSync(env.APACHE_PID_FILE!, { force: true });
        const child = spawn("ip", ["netns", "exec", ns.name, "apache2", "-d", conf, "-f", path.join(conf, "apache2.conf"), "-D", "FOREGROUND"], { env, stdio: ["ignore", "ignore", "pipe"] });
        apache = child;
        let stderr = "";
        child.stderr!.on("data", (d) => (stderr += d));
        for (let i = 0; i < 100 && !fs.existsSync(env.APACHE_PID_FILE!) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
        expect([c.title, fs.existsSync(env.APACHE_PID_FILE!), stderr]).toEqual([c.title, true, ""]);

        const answers = (): Record<string, string> => {
          const out: Record<string, string> = {};
          for (const socket of Object.keys(c.answers)) {
            const r = ns.exec("curl", ["-s", "--max-time", "5", `http://${socket}/`]);
            out[socket] = r.status === 7 ? "refused" : r.status === 0 && /^site (\S+)\n$/.test(r.stdout) ? r.stdout.trim().slice(5) : `curl exit ${r.status}: ${r.stdout}${r.stderr}`;
          }
          return out;
        };
        real[c.title] = answers();
        // What Apache listens on now, captured as doctor's copy holds it; and once it is stopped.
        const listening = ns.exec("ss", ["-Hltnp"]);
        expect(listening.status).toBe(0);
        await stop();
        stopped[c.title] = answers();
        const listeningStopped = ns.exec("ss", ["-Hltnp"]).stdout;

        const copy = readHostCopy(tmp.dir, "web");
        const reading = (capture?: string): Record<string, string> => {
          const a = readApache(copy.files, capture)!;
          expect([c.title, a.unreadable]).toEqual([c.title, []]);
          const out: Record<string, string> = {};
          for (const socket of Object.keys(c.answers)) {
            const [address, port] = socket.split(":");
            const v = apacheServes(a, ipNum(address)!, Number(port));
            out[socket] = v.outcome === "pass" ? v.vhost!.site : v.outcome;
          }
          return out;
        };
        model[c.title] = reading();
        // What import takes for each socket's site (a section on one address:port): the DocumentRoot apache2 served from.
        const blocks = readSiteBlocks(copy.files, [], "web").sites;
        const roots: Record<string, string | undefined> = {};
        const servedRoots: Record<string, string> = {};
        for (const socket of Object.keys(c.answers)) {
          const [address, port] = socket.split(":");
          const block = blocks.find((b) => b.address === address && b.port === Number(port));
          const answer = real[c.title][socket];
          if (!block || answer === "refused" || answer === "main") continue;
          roots[socket] = block.documentRoot;
          servedRoots[socket] = path.join(sites, answer);
        }
        imported[c.title] = roots;
        served[c.title] = servedRoots;
        modelRunning[c.title] = reading(listening.stdout);
        modelStopped[c.title] = reading(listeningStopped);
      }
      // Not a comparison that passes either way: apache2 answered as each case says.
      expect(real).toEqual(Object.fromEntries(CASES.map((c) => [c.title, c.answers])));
      // The model: pass where a site answered (naming the file it is in), drop where the connection was refused or no site answered.
      const expected = Object.fromEntries(CASES.map((c) => [c.title, Object.fromEntries(Object.entries(c.answers).map(([s, answer]) => [s, answer === "refused" || answer === "main" ? "drop" : siteFile(c, answer)]))]));
      expect(model).toEqual(expected);
      expect(imported).toEqual(served);
      expect(Object.keys(served["a section's last DocumentRoot, not one in an <IfModule> of a module not loaded"])).toEqual(["192.0.2.1:80"]);
      expect(Object.keys(served["a DocumentRoot from a file an Include in the section names, after the section's own"])).toEqual(["192.0.2.1:80"]);
      // With what Apache listens on captured (ss -Hltnp): the same while it runs; once stopped, nothing answers, and the model says so where the files alone say it serves.
      expect(modelRunning).toEqual(expected);
      const none = Object.fromEntries(CASES.map((c) => [c.title, Object.fromEntries(Object.keys(c.answers).map((s) => [s, "refused"]))]));
      expect(stopped).toEqual(none);
      expect(modelStopped).toEqual(Object.fromEntries(CASES.map((c) => [c.title, Object.fromEntries(Object.keys(c.answers).map((s) => [s, "drop"]))])));
    } finally {
      await stop();
      ns.remove();
      tmp.remove();
    }
  }, 120000);
});

/** The name (without .conf) of the file of a case that holds the virtual host serving `site`. */
function siteFile(c: Case, site: string): string {
  if (c.sectionFiles?.[site] !== undefined) return c.sectionFiles[site];
  const [file] = Object.entries(c.sites).find(([, text]) => text.includes(`SITES/${site}\n`))!;
  return path.basename(file, ".conf");
}
