/**
 * Every generated file, read by the real program that reads it on a host:
 * Xen's own parser (libxlutil), ifupdown, iptables-restore, apache2ctl,
 * sh/bash and shellcheck.
 */
import * as fs from "fs";
import * as path from "path";
import { TerraformStack, Testing } from "cdktf";
import { ForwardRule, Port, RoutedDomU, WebVhost, XenHost } from "../../lib";
import { renderNftRuleset } from "../../lib/render/nftables";
import { XL_VIF_KEYS } from "../../lib/render/xl-cfg";
import { describeWith, netns, run, sh, tempDir } from "../support/tools";
import { seedStack } from "../support/seed";

function fileOf(host: { hostFiles(): { path: string; content: string }[] }, p: string): string {
  const f = host.hostFiles().find((x) => x.path === p);
  if (!f) throw new Error(`no file ${p}`);
  return f.content;
}

const seed = seedStack();

describeWith(["gcc", "/usr/include/libxlutil.h"], "xl cfg read by Xen's parser (libxlutil)", () => {
  const tmp = tempDir();
  const parser = path.join(tmp.dir, "xlcfg-parse");
  beforeAll(() => sh("gcc", ["-Wall", "-Werror", "-o", parser, path.join(__dirname, "../../lib/lab/xlcfg-parse.c"), "-lxlutil"]));
  afterAll(tmp.remove);

  function parse(text: string) {
    const file = path.join(tmp.dir, "guest.cfg");
    fs.writeFileSync(file, text);
    const r = run(parser, [file]);
    if (r.status !== 0) throw new Error(`libxlutil rejected the file: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  it("parses the seed guest's cfg to the expected settings and lists", () => {
    const cfg = parse(fileOf(seed.dom0, "/etc/xen/webserv.cfg"));
    expect(cfg).toEqual({
      name: "webserv",
      type: "pv",
      bootloader: "pygrub",
      memory: 512,
      vcpus: 1,
      on_poweroff: "destroy",
      on_reboot: "restart",
      on_crash: "restart",
      disk: ["phy:/dev/vg0/webserv-disk,xvda,w"],
      vif: [0, 1, 2].map((i) => `mac=de:ad:be:ef:00:0${i},ip=192.168.0.20${i},script=vif-route,gatewaydev=eth0,vifname=webserv-${i}`),
    });
    for (const spec of cfg.vif as string[]) {
      const keys = spec.split(",").map((kv) => kv.split("=")[0]);
      expect(keys.filter((k) => !(XL_VIF_KEYS as readonly string[]).includes(k))).toEqual([]);
    }
  });

  it("parses a direct-boot pvh guest", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    const dom0 = new XenHost(stack, "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" } });
    new RoutedDomU(dom0, "k", {
      type: "pvh", kernel: "/boot/vmlinuz", ramdisk: "/boot/initrd.img", root: "/dev/xvda1 ro", extra: "console=hvc0 quiet",
      disks: [], vifs: [{ mac: "00:16:3e:00:00:09", address: "192.0.2.9/24" }],
    });
    const cfg = parse(fileOf(dom0, "/etc/xen/k.cfg"));
    expect(cfg).toMatchObject({ type: "pvh", kernel: "/boot/vmlinuz", ramdisk: "/boot/initrd.img", root: "/dev/xvda1 ro", extra: "console=hvc0 quiet", disk: [] });
  });

  it("the checker itself rejects a broken file", () => {
    expect(() => parse('name = "x\nvif = [ ')).toThrow(/libxlutil rejected/);
  });
});

describeWith(["ifup", "ip", "root"], "guest interfaces read by ifupdown", () => {
  const interfaces = fileOf(seed.webserv, "/etc/network/interfaces");
  const tmp = tempDir();
  afterAll(tmp.remove);

  it("ifup --no-act accepts the file and plans the policy routing", () => {
    const file = path.join(tmp.dir, "interfaces");
    fs.writeFileSync(file, interfaces);
    const r = run("ifup", ["--no-act", "-a", "-i", file, "--state-dir", tmp.dir]);
    // --no-act prints the commands it would run on stderr.
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("ip rule add from 192.168.0.202 lookup 102 priority 1002");
    expect(r.stderr).toContain("ip route add default via 192.168.0.1  dev eth0");
  });

  describe("applied for real in a network namespace", () => {
    let ns: ReturnType<typeof netns>;
    const state = path.join(tmp.dir, "state");
    const file = path.join(tmp.dir, "interfaces-real");
    beforeAll(() => {
      ns = netns("if");
      fs.mkdirSync(state);
      fs.writeFileSync(file, interfaces);
      for (const v of seed.webserv.guestModel().vifs) {
        // veth, not dummy: containers often lack the dummy module.
        const r = ns.exec("ip", ["link", "add", v.device, "address", v.mac, "type", "veth", "peer", "name", `peer${v.index}`]);
        if (r.status !== 0) throw new Error(r.stderr);
        ns.exec("ip", ["link", "set", `peer${v.index}`, "up"]);
      }
    });
    afterAll(() => ns.remove());

    const snapshot = () => ({
      rules: ns.exec("ip", ["rule", "show"]).stdout,
      tables: [100, 101, 102].map((t) => ns.exec("ip", ["route", "show", "table", String(t)]).stdout),
      main: ns.exec("ip", ["route", "show"]).stdout,
    });

    it("ifup -a gives each address its own table and rule", () => {
      const r = ns.exec("ifup", ["-a", "-i", file, "--state-dir", state]);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const s = snapshot();
      expect(s.rules).toBe(
        [
          "0:\tfrom all lookup local",
          "1000:\tfrom 192.168.0.200 lookup 100",
          "1001:\tfrom 192.168.0.201 lookup 101",
          "1002:\tfrom 192.168.0.202 lookup 102",
          "32766:\tfrom all lookup main",
          "32767:\tfrom all lookup default",
          "",
        ].join("\n"),
      );
      expect(s.tables[1]).toBe("default via 192.168.0.1 dev eth1 onlink \n192.168.0.0/24 dev eth1 scope link src 192.168.0.201 \n");
      expect(s.main).toContain("default via 192.168.0.1 dev eth0");
    });

    it("running every post-up command again changes nothing", () => {
      const before = snapshot();
      const postUps = interfaces.split("\n").filter((l) => l.trim().startsWith("post-up ")).map((l) => l.trim().slice(8));
      for (const cmd of postUps) {
        const r = ns.exec("sh", ["-c", cmd]);
        expect({ cmd, status: r.status, stderr: r.stderr }).toEqual({ cmd, status: 0, stderr: "" });
      }
      expect(snapshot()).toEqual(before);
    });

    it("ifdown removes the rules and tables; ifup brings back the same state", () => {
      const before = snapshot();
      expect(ns.exec("ifdown", ["-a", "-i", file, "--state-dir", state]).status).toBe(0);
      const down = snapshot();
      expect(down.rules).not.toMatch(/lookup 10[0-2]/);
      expect(down.tables).toEqual(["", "", ""]);
      expect(ns.exec("ifup", ["-a", "-i", file, "--state-dir", state]).status).toBe(0);
      expect(snapshot()).toEqual(before);
    });
  });
});

describeWith(["iptables-restore", "iptables-save", "ip", "root"], "dom0 ruleset read by iptables-restore", () => {
  let ns: ReturnType<typeof netns>;
  beforeAll(() => (ns = netns("fw")));
  afterAll(() => ns.remove());
  const rules = fileOf(seed.dom0, "/etc/iptables/rules.v4");

  it("passes iptables-restore --test", () => {
    const r = ns.exec("iptables-restore", ["--test"], rules);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("loads, and iptables-save prints back exactly the rendered rules", () => {
    expect(ns.exec("iptables-restore", [], rules).status).toBe(0);
    const saved = ns.exec("iptables-save", ["-t", "filter"]).stdout;
    const strip = (t: string) => t.split("\n").filter((l) => l && !l.startsWith("#")).join("\n");
    expect(strip(saved)).toBe(strip(rules));
  });

  it("iptables-restore --test rejects a corrupted ruleset (the check can fail)", () => {
    const r = ns.exec("iptables-restore", ["--test"], rules.replace("--dports 80,443", "--dports 80,99999"));
    expect(r.status).not.toBe(0);
  });

  it("the firewall script loads the ruleset", () => {
    const tmp = tempDir();
    try {
      const script = path.join(tmp.dir, "fw");
      const file = path.join(tmp.dir, "rules.v4");
      fs.writeFileSync(script, fileOf(seed.dom0, "/usr/local/sbin/cdktf-xen-firewall"), { mode: 0o755 });
      fs.writeFileSync(file, rules.replace(":FORWARD DROP", ":FORWARD ACCEPT"));
      const r = ns.exec(script, ["load", file]);
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
      expect(ns.exec("iptables", ["-S", "FORWARD"]).stdout.split("\n")[0]).toBe("-P FORWARD ACCEPT");
    } finally {
      tmp.remove();
    }
  });
});

describeWith(["nft", "ip", "root"], "dom0 ruleset read by nft", () => {
  let ns: ReturnType<typeof netns>;
  beforeAll(() => (ns = netns("nf")));
  afterAll(() => ns.remove());

  function ruleset(extra: (h: XenHost, g: RoutedDomU) => void = () => undefined) {
    const stack = new TerraformStack(Testing.app(), "s");
    const dom0 = new XenHost(stack, "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" }, firewall: { managementCidrs: ["198.51.100.0/24"] } });
    const g = new RoutedDomU(dom0, "g", { disks: [], allowEgress: true, vifs: [0, 1].map((i) => ({ mac: `00:16:3e:00:00:2${i}`, address: `192.0.2.2${i}/24` })) });
    new ForwardRule(dom0, "web", { to: g, ports: [80, 443, Port.tcpRange(8000, 8080)] });
    new ForwardRule(dom0, "dns", { to: "192.0.2.20", ports: [Port.udp(53)], from: ["203.0.113.0/24"], sourcePorts: [{ from: 1024, to: 65535 }] });
    extra(dom0, g);
    return renderNftRuleset(dom0.firewallModel());
  }

  it("nft -c accepts it; it loads, loads again (replacing its table), and lists back as rendered", () => {
    const text = ruleset();
    for (const args of [["-c", "-f", "-"], ["-f", "-"], ["-f", "-"]]) {
      const r = ns.exec("nft", args, text);
      expect({ args, status: r.status, stderr: r.stderr }).toEqual({ args, status: 0, stderr: "" });
    }
    const listed = ns.exec("nft", ["list", "table", "inet", "cdktf_xen"]).stdout;
    const body = (t: string) => t.split("\n").filter((l) => l.trim() && !l.startsWith("#") && !/^(table|delete table) inet cdktf_xen$/.test(l)).join("\n");
    expect(body(listed)).toBe(body(text));
  });

  it("nft -c rejects a corrupted ruleset (the check can fail)", () => {
    expect(ns.exec("nft", ["-c", "-f", "-"], ruleset().replace("dport { 80", "dport { 99999")).status).not.toBe(0);
  });
});

describeWith(["apache2ctl", "openssl", "/etc/apache2/apache2.conf"], "Apache config read by apache2ctl -t on a staged tree", () => {
  const tmp = tempDir();
  afterAll(tmp.remove);

  /** Copies /etc/apache2, puts the guest's Apache files in, enables the sites, and runs apache2ctl -t. */
  function configtest(files: { path: string; content: string }[], modules: string[] = []) {
    const conf = path.join(tmp.dir, `apache2-${Math.random().toString(36).slice(2, 8)}`);
    fs.cpSync("/etc/apache2", conf, { recursive: true, verbatimSymlinks: true });
    for (const f of fs.readdirSync(path.join(conf, "sites-enabled"))) fs.rmSync(path.join(conf, "sites-enabled", f));
    for (const f of files.filter((x) => x.path.startsWith("/etc/apache2/"))) {
      const rel = f.path.slice("/etc/apache2/".length);
      fs.writeFileSync(path.join(conf, rel), f.content);
      if (rel.startsWith("sites-available/")) {
        fs.symlinkSync(`../${rel}`, path.join(conf, "sites-enabled", path.basename(rel)));
      }
    }
    for (const m of modules) {
      for (const ext of [".load", ".conf"]) {
        const src = path.join(conf, "mods-available", m + ext);
        if (fs.existsSync(src)) fs.symlinkSync(`../mods-available/${m}${ext}`, path.join(conf, "mods-enabled", m + ext));
      }
    }
    return run("apache2ctl", ["-t"], { env: { APACHE_CONFDIR: conf } });
  }

  it("accepts the seed guest's ports.conf and sites", () => {
    const r = configtest(seed.webserv.hostFiles());
    expect(r.stderr).toContain("Syntax OK");
    expect(r.status).toBe(0);
  });

  it("accepts TLS vhosts with mod_ssl, and Apache 2.4 rejects a broken site", () => {
    const cert = path.join(tmp.dir, "cert.pem");
    const key = path.join(tmp.dir, "key.pem");
    sh("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=tls.example.org", "-days", "2", "-keyout", key, "-out", cert]);
    const stack = new TerraformStack(Testing.app(), "s");
    const dom0 = new XenHost(stack, "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" } });
    const g = new RoutedDomU(dom0, "g", { disks: [], vifs: [{ mac: "00:16:3e:00:00:0a", address: "192.0.2.10/24" }, { mac: "00:16:3e:00:00:0b", address: "192.0.2.11/24" }] });
    new WebVhost(g, "secure", { address: "192.0.2.10", serverName: "tls.example.org", documentRoot: "/srv/secure", tls: { certificateFile: cert, certificateKeyFile: key } });
    new WebVhost(g, "also", { address: "192.0.2.10", ports: [80, 8080], serverName: "also.example.org", documentRoot: "/srv/also" });
    const ok = configtest(g.hostFiles(), ["ssl", "socache_shmcb"]);
    expect(ok.stderr).toContain("Syntax OK");
    expect(ok.status).toBe(0);
    const broken = g.hostFiles().map((f) => (f.path.endsWith("secure.conf") ? { ...f, content: f.content.replace("</VirtualHost>", "") } : f));
    expect(configtest(broken, ["ssl", "socache_shmcb"]).status).not.toBe(0);
  });
});

describeWith(["sh", "bash", "shellcheck"], "scripts read by sh -n, bash -n and shellcheck", () => {
  const tmp = tempDir();
  afterAll(tmp.remove);
  const scripts = [
    { path: "/usr/local/sbin/cdktf-xen-firewall", shell: "sh" },
    { path: "/etc/xen/scripts/vif-post.d/cdktf-xen.hook", shell: "bash" },
  ];
  it.each(scripts)("$path passes $shell -n and shellcheck", ({ path: p, shell }) => {
    const file = path.join(tmp.dir, path.basename(p));
    fs.writeFileSync(file, fileOf(seed.dom0, p));
    expect(run(shell, ["-n", file]).status).toBe(0);
    const sc = run("shellcheck", ["--shell", shell, file]);
    expect(sc.stdout).toBe("");
    expect(sc.status).toBe(0);
  });
});
