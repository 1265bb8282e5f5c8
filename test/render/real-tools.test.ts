/**
 * Every generated file, read by the real program that reads it on a host:
 * Xen's own parser (libxlutil), ifupdown, iptables-restore, apache2ctl,
 * sh/bash and shellcheck.
 */
import * as fs from "fs";
import * as path from "path";
import { parseDiskSpec } from "../../lib/validation/disk";
import { TerraformStack, Testing } from "cdktf";
import { ForwardRule, Port, RoutedDomU, WebVhost, XenHost } from "../../lib";
import { renderNftRuleset } from "../../lib/render/nftables";
import { renderVifHook } from "../../lib/concerns/dom0-sysctl/vif-hook";
import { renderIp6tablesRules, renderIptablesRules } from "../../lib/render/iptables";
import { renderFirewallScript } from "../../lib/concerns/firewall/script";
import { renderIpsets } from "../../lib/render/ipset";
import { XL_VIF_KEYS } from "../../lib/render/xl-cfg";
import { sysctlOrder } from "../../lib/reachability/hosts";
import { IfupdownConfig, IP_OBJECTS, ipObject } from "../../lib/reachability/ifupdown";
import { ipNum, ipText } from "../../lib/reachability/ip";
import { IpSets, IptablesFilter } from "../../lib/reachability/iptables";
import { Firewalls, nftIncludes } from "../../lib/reachability/firewalls";
import { readApache } from "../../lib/reachability/apache";
import type { Packet } from "../../lib/reachability/packet";
import { readLiveRouting } from "../../lib/reachability/live-routing";
import { readLinkNames } from "../../lib/reachability/naming";
import { Routing } from "../../lib/reachability/routing";
import { PENDING_SUFFIX } from "../../lib/private/paths";
import { running } from "../../lib/lab/processes";
import { describeWith, netns, run, sh, tempDir } from "../support/tools";
import { seedStack } from "../support/seed";

function fileOf(host: { _hostFiles(): { path: string; content: string }[] }, p: string): string {
  const f = host._hostFiles().find((x) => x.path === p);
  if (!f) throw new Error(`no file ${p}`);
  return f.content;
}

const seed = seedStack();
const DOM0_PATHS = { iptablesRules: "/etc/iptables/rules.v4", ip6tablesRules: "/etc/iptables/rules.v6", ipsets: "/etc/iptables/ipsets", nftRules: "/etc/cdktf-xen/firewall.nft" };

describeWith(["gcc", "/usr/include/libxlutil.h", "/usr/include/libxl.h"], "disk specs read by Xen's own disk parser (xlu_disk_parse)", () => {
  const tmp = tempDir();
  const parser = path.join(tmp.dir, "xldisk-parse");
  beforeAll(() => sh("gcc", ["-Wall", "-Werror", "-o", parser, path.join(__dirname, "../support/xldisk-parse.c"), "-lxlutil", "-lxenlight"]));
  afterAll(tmp.remove);
  const IMAGES = ["/var/lib/xen/images"];
  const parse = (specs: string[]) => {
    const r = run(parser, specs);
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { target: string; vdev: string; script: string; backend: string });
  };
  const accepted = (spec: string) => {
    try {
      return parseDiskSpec(spec, { path: "t", prop: "disks[0]" }, IMAGES) === spec;
    } catch {
      return false;
    }
  };

  it("what the review smuggled in is what xl would do: a script run as root, a dom0 file handed to the guest; the library refuses both", () => {
    const hostile = ["phy:/dev/vg0/w,xvda,w,script=/tmp/pwn", "format=raw,vdev=xvda,access=rw,target=/etc/shadow"];
    expect(parse(hostile).map((d) => [d.target, d.script])).toEqual([["/dev/vg0/w", "/tmp/pwn"], ["/etc/shadow", ""]]);
    expect(hostile.filter(accepted)).toEqual([]);
  });

  it("every spec the library accepts, xl parses to a target under /dev or an image directory, with no script and no backend", () => {
    const targets = ["phy:/dev/vg0/w", "/dev/vg0/w", "file:/var/lib/xen/images/w.img", "/var/lib/xen/images/a.qcow2", "/etc/shadow", "/dev/../etc/shadow", "/var/lib/xen/images2/x", "tap:aio:/dev/sdb"];
    const specs: string[] = [];
    for (const t of targets) {
      for (const tail of ["xvda,w", "raw,xvdb,r", "qcow2,hda,rw", "xvdc,w,script=/tmp/x", "xvda,w,backend=d1"]) specs.push(`${t},${tail}`);
      const plain = t.replace(/^[a-z0-9]+:(aio:)?/, "");
      for (const keys of [`vdev=xvda, access=rw, target=${plain}`, `format=raw,vdev=xvdb,target=${plain}`, `devtype=cdrom,vdev=hdc,access=r,target=${plain}`, `vdev=xvda,script=/tmp/x,target=${plain}`]) specs.push(keys);
    }
    const ok = specs.filter(accepted);
    expect(ok.length).toBeGreaterThan(20);
    const parsed = parse(ok);
    const bad = parsed.filter((d) => d.script !== "" || d.backend !== "" || !["/dev/", ...IMAGES.map((i) => `${i}/`)].some((p) => d.target.startsWith(p)) || d.target.includes(".."));
    expect(bad).toEqual([]);
    expect(parsed.map((d) => d.vdev)).toEqual(ok.map((s) => /vdev=([a-z0-9]+)/.exec(s)?.[1] ?? s.split(",")[s.split(",").length === 4 ? 2 : 1]));
  });
});

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

/** A guest whose first vif carries three addresses and whose second carries one: policy routing on (two vifs). */
function severalPerVif() {
  const stack = new TerraformStack(Testing.app(), "s");
  const dom0 = new XenHost(stack, "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" } });
  const guest = new RoutedDomU(dom0, "multi", {
    disks: [],
    vifs: [
      { mac: "00:16:3e:00:00:10", address: "192.0.2.10/24", additionalAddresses: ["192.0.2.11/24", "192.0.2.12/24"] },
      { mac: "00:16:3e:00:00:20", address: "192.0.2.20/24" },
    ],
  });
  return { dom0, guest };
}

describeWith(["gcc", "/usr/include/libxlutil.h", "ifup", "ip", "root"], "several addresses on one vif, read by Xen's parser and by ifupdown", () => {
  const { dom0, guest } = severalPerVif();
  const tmp = tempDir();
  afterAll(tmp.remove);

  it("libxlutil reads the vif's ip= as one list", () => {
    const parser = path.join(tmp.dir, "xlcfg-parse");
    sh("gcc", ["-Wall", "-Werror", "-o", parser, path.join(__dirname, "../../lib/lab/xlcfg-parse.c"), "-lxlutil"]);
    const file = path.join(tmp.dir, "multi.cfg");
    fs.writeFileSync(file, fileOf(dom0, "/etc/xen/multi.cfg"));
    const r = run(parser, [file]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).vif).toEqual([
      "mac=00:16:3e:00:00:10,ip=192.0.2.10 192.0.2.11 192.0.2.12,script=vif-route,gatewaydev=eth0,vifname=multi-0",
      "mac=00:16:3e:00:00:20,ip=192.0.2.20,script=vif-route,gatewaydev=eth0,vifname=multi-1",
    ]);
  });

  it("ifup puts the three addresses on eth0, each with a rule to eth0's table; the model of the file says what the kernel does", () => {
    const ns = netns("ma");
    try {
      for (const v of guest._guestModel().vifs) {
        expect(ns.exec("ip", ["link", "add", v.device, "address", v.mac, "type", "veth", "peer", "name", `peer${v.index}`]).status).toBe(0);
        ns.exec("ip", ["link", "set", `peer${v.index}`, "up"]);
      }
      const file = path.join(tmp.dir, "interfaces");
      const interfaces = fileOf(guest, "/etc/network/interfaces");
      fs.writeFileSync(file, interfaces);
      fs.mkdirSync(path.join(tmp.dir, "state"));
      const up = ns.exec("ifup", ["-a", "-i", file, "--state-dir", path.join(tmp.dir, "state")]);
      expect({ status: up.status, stderr: up.stderr }).toEqual({ status: 0, stderr: "" });
      const addr = ns.exec("ip", ["-4", "-o", "addr", "show"]).stdout;
      expect(addr.split("\n").filter(Boolean).map((l) => l.split(/\s+/).slice(1, 4).join(" "))).toEqual(["lo inet 127.0.0.1/8", "eth0 inet 192.0.2.10/24", "eth0 inet 192.0.2.11/24", "eth0 inet 192.0.2.12/24", "eth1 inet 192.0.2.20/24"]);
      const rule = ns.exec("ip", ["-4", "rule", "show"]).stdout;
      expect(rule).toBe(["0:\tfrom all lookup local", "1000:\tfrom 192.0.2.10 lookup 100", "1000:\tfrom 192.0.2.11 lookup 100", "1000:\tfrom 192.0.2.12 lookup 100", "1001:\tfrom 192.0.2.20 lookup 101", "32766:\tfrom all lookup main", "32767:\tfrom all lookup default", ""].join("\n"));
      const route = ns.exec("ip", ["-4", "route", "show", "table", "all"]).stdout;
      // The model of the file, and the kernel as iproute2 prints it: the same addresses, and each reply by the same interface.
      const fromFile = new Routing();
      new IfupdownConfig("/etc/network/interfaces", interfaces).bringUp(fromFile, {}, () => true);
      const fromKernel = readLiveRouting({ addr, route, rule }, {});
      expect(fromKernel.unreadable).toEqual([]);
      const shape = (r: Routing) => r.addresses.map((a) => `${a.dev} ${ipText(a.address)}/${a.prefix}`).sort();
      expect(shape(fromFile)).toEqual(shape(fromKernel.routing));
      for (const src of ["192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.20"]) {
        for (const dst of ["203.0.113.77", "192.0.2.50"]) {
          const dev = (r: Routing) => r.lookup(ipNum(dst)!, ipNum(src)!)?.route.dev;
          expect({ src, dst, dev: dev(fromFile) }).toEqual({ src, dst, dev: dev(fromKernel.routing) });
        }
      }
      expect(fromFile.lookup(ipNum("203.0.113.77")!, ipNum("192.0.2.12")!)?.route.dev).toBe("eth0");
    } finally {
      ns.remove();
    }
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
    /** What `ifup -a` did, run once before the tests: each of them starts from the interfaces up (the last leaves them up again). */
    let up: ReturnType<typeof run>;
    beforeAll(() => {
      ns = netns("if");
      fs.mkdirSync(state);
      fs.writeFileSync(file, interfaces);
      for (const v of seed.webserv._guestModel().vifs) {
        // veth, not dummy: containers often lack the dummy module.
        ns.sh("ip", "link", "add", v.device, "address", v.mac, "type", "veth", "peer", "name", `peer${v.index}`);
        ns.exec("ip", ["link", "set", `peer${v.index}`, "up"]);
      }
      up = ns.exec("ifup", ["-a", "-i", file, "--state-dir", state]);
    });
    afterAll(() => ns.remove());

    const snapshot = () => ({
      rules: ns.exec("ip", ["rule", "show"]).stdout,
      tables: [100, 101, 102].map((t) => ns.exec("ip", ["route", "show", "table", String(t)]).stdout),
      main: ns.exec("ip", ["route", "show"]).stdout,
    });

    it("ifup -a gives each address its own table and rule", () => {
      expect({ status: up.status, stderr: up.stderr }).toEqual({ status: 0, stderr: "" });
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

/**
 * Brings `interfaces` up with ifup -a in a namespace with links eth0 to eth2
 * (with `files` written into a directory of their own, whose path
 * `interfaces` is given); the model of the file, the kernel's routing after
 * it, and what iptables-save prints there then.
 */
function bringUp(interfaces: string | ((dir: string) => string), files: Record<string, string> = {}): { status: number | null; stderr: string; model: IfupdownConfig; fromFile: Routing; kernel: Routing; iptablesSave: string; files: Record<string, string>; text: string } {
  const tmp = tempDir();
  const ns = netns("ia");
  try {
    for (const dev of ["eth0", "eth1", "eth2"]) {
      ns.sh("ip", "link", "add", dev, "type", "veth", "peer", "name", `${dev}-peer`);
      ns.sh("ip", "link", "set", `${dev}-peer`, "up");
    }
    const written: Record<string, string> = {};
    for (const [name, content] of Object.entries(files)) {
      written[path.join(tmp.dir, name)] = content;
      fs.writeFileSync(path.join(tmp.dir, name), content);
    }
    const text = typeof interfaces === "string" ? interfaces : interfaces(tmp.dir);
    const file = path.join(tmp.dir, "interfaces");
    fs.writeFileSync(file, text);
    fs.mkdirSync(path.join(tmp.dir, "state"));
    const up = ns.exec("ifup", ["-a", "-i", file, "--state-dir", path.join(tmp.dir, "state")]);
    const live = readLiveRouting({ addr: ns.exec("ip", ["-4", "-o", "addr", "show"]).stdout, route: ns.exec("ip", ["-4", "route", "show", "table", "all"]).stdout, rule: ns.exec("ip", ["-4", "rule", "show"]).stdout }, {});
    expect(live.unreadable).toEqual([]);
    const iptablesSave = Object.keys(files).length ? ns.exec("iptables-save", []).stdout : "";
    const model = new IfupdownConfig("/etc/network/interfaces", text);
    const fromFile = new Routing();
    model.bringUp(fromFile, {}, (name) => ["eth0", "eth1", "eth2"].includes(name));
    return { status: up.status, stderr: up.stderr, model, fromFile, kernel: live.routing, iptablesSave, files: written, text };
  } finally {
    ns.remove();
    tmp.remove();
  }
}

describeWith(["ifup", "ip", "root"], "stanzas and their up lines, read by ip, ifupdown and the kernel", () => {
  it("ip takes a word for the object the model takes it for: ip a, ip ro, ip ru, ip l, and none of the others", () => {
    const words = ["a", "ad", "addr", "address", "addrl", "r", "ro", "rou", "route", "ru", "rul", "rule", "l", "li", "link", "m", "n", "x"];
    const byIp = (w: string): string | undefined => {
      const r = run("ip", [w, "help"]);
      const object = /Usage: ip (\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1];
      return (IP_OBJECTS as readonly string[]).includes(object ?? "") ? object : undefined;
    };
    const taken = Object.fromEntries(words.map((w) => [w, byIp(w)]));
    expect(Object.fromEntries(words.map((w) => [w, ipObject(w)]))).toEqual(taken);
    // Not a check that passes either way: ip names each object the model reads, and refuses or names another for the rest.
    expect(taken).toEqual({ a: "address", ad: "address", addr: "address", address: "address", addrl: undefined, r: "route", ro: "route", rou: "route", route: "route", ru: "rule", rul: "rule", rule: "rule", l: "link", li: "link", link: "link", m: undefined, n: undefined, x: undefined });
  });

  it("manual and static stanzas whose up lines add addresses: a secondary, a /32 and noprefixroute add no prefix route; the model's addresses and routes are the kernel's", () => {
    const interfaces = [
      "auto eth0",
      "iface eth0 inet manual",
      "    up ip link set dev eth0 up",
      "    up ip address add 192.0.2.10/24 brd + dev eth0",
      "    up ip addr add 192.0.2.11/24 dev eth0",
      "    up ip -4 a add 198.51.100.10/32 dev eth0",
      "",
      "auto eth1",
      "iface eth1 inet manual",
      "    up ip addr add 203.0.113.10/24 dev eth1 noprefixroute",
      "    up ip ro add 203.0.113.128/25 dev eth1 src 203.0.113.10",
      "",
      "auto eth2",
      "iface eth2 inet static",
      "    address 192.0.2.20/24",
      "    up ip addr add local 192.0.2.21/24 dev eth2",
      "",
    ].join("\n");
    const { status, stderr, model, fromFile, kernel } = bringUp(interfaces);
    expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
    expect(model.unreadable).toEqual([]);
    const shape = (r: Routing) => r.addresses.map((a) => `${a.dev} ${ipText(a.address)}/${a.prefix}`).sort();
    expect(shape(fromFile)).toEqual(["eth0 192.0.2.10/24", "eth0 192.0.2.11/24", "eth0 198.51.100.10/32", "eth1 203.0.113.10/24", "eth2 192.0.2.20/24", "eth2 192.0.2.21/24"]);
    expect(shape(kernel)).toEqual(shape(fromFile));
    const asked: string[] = [];
    for (const dst of ["192.0.2.50", "203.0.113.5", "203.0.113.200", "198.51.100.99"]) {
      for (const src of [undefined, "192.0.2.11", "198.51.100.10", "203.0.113.10", "192.0.2.21"]) {
        const dev = (r: Routing) => r.lookup(ipNum(dst)!, src === undefined ? undefined : ipNum(src))?.route.dev ?? "no route";
        expect({ src, dst, dev: dev(fromFile) }).toEqual({ src, dst, dev: dev(kernel) });
        asked.push(`${dst}: ${dev(kernel)}`);
      }
    }
    // Not a check that passes either way: the first of two interfaces on 192.0.2.0/24 has its route; noprefixroute leaves 203.0.113.5 unrouted, the /25 added by hand routes 203.0.113.200.
    expect([...new Set(asked)]).toEqual(["192.0.2.50: eth0", "203.0.113.5: no route", "203.0.113.200: eth1", "198.51.100.99: no route"]);
  });

  it("a static stanza's metric is its gateway's: of two default routes the kernel takes the lower metric, and so does the model", () => {
    const interfaces = ["auto eth0", "iface eth0 inet static", "    address 192.0.2.10/24", "    gateway 192.0.2.1", "    metric 100", "", "auto eth1", "iface eth1 inet static", "    address 198.51.100.10/24", "    gateway 198.51.100.1", ""].join("\n");
    const { status, stderr, model, fromFile, kernel } = bringUp(interfaces);
    expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
    expect(model.unreadable).toEqual([]);
    const dev = (r: Routing) => r.lookup(ipNum("203.0.113.77")!)?.route.dev;
    // Not a check that passes either way: eth0's default route came first, and the kernel takes eth1's.
    expect([dev(fromFile), dev(kernel)]).toEqual(["eth1", "eth1"]);
  });

  it("a netmask wins over the address's own prefix; a stanza that inherits another's options is named, not read (ifup takes the other's address)", () => {
    const interfaces = ["auto eth0", "iface eth0 inet static", "    address 192.0.2.10/24", "    netmask 255.255.0.0", "", "iface base inet static", "    address 198.51.100.10/24", "", "auto eth1", "iface eth1 inet static inherits base", "    address 198.51.100.11/24", ""].join("\n");
    const { status, stderr, model, fromFile, kernel } = bringUp(interfaces);
    expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
    const shape = (r: Routing) => r.addresses.map((a) => `${a.dev} ${ipText(a.address)}/${a.prefix}`).sort();
    // Not a check that passes either way: /16 from the netmask, and eth1 holds the address of the stanza it inherits.
    expect(shape(kernel)).toEqual(["eth0 192.0.2.10/16", "eth1 198.51.100.10/24"]);
    expect(shape(fromFile)).toEqual(["eth0 192.0.2.10/16", "eth1 198.51.100.11/24"]);
    expect(model.unreadable.map((u) => `${u.line}: ${u.why}`)).toEqual(["10: inherits is not read by the model"]);
  });

  it("the interfaces' names by MAC, as ip -o link show prints them (captured beside a copy, they name a guest's vifs)", () => {
    const ns = netns("il");
    try {
      ns.sh("ip", "link", "add", "enX0", "address", "de:ad:be:ef:00:00", "type", "veth", "peer", "name", "p0", "address", "de:ad:be:ef:00:10");
      ns.sh("ip", "link", "add", "lan1", "address", "de:ad:be:ef:00:01", "type", "veth", "peer", "name", "p1", "address", "de:ad:be:ef:00:11");
      ns.sh("ip", "link", "set", "lan1", "up");
      ns.sh("ip", "link", "set", "p1", "up");
      const names = readLinkNames(ns.exec("ip", ["-o", "link", "show"]).stdout);
      expect(Object.fromEntries([...names].map(([mac, n]) => [mac, n.name]))).toEqual({ "de:ad:be:ef:00:00": "enX0", "de:ad:be:ef:00:10": "p0", "de:ad:be:ef:00:01": "lan1", "de:ad:be:ef:00:11": "p1" });
    } finally {
      ns.remove();
    }
  });

  it("an address added twice, or to a link the host does not have: ip refuses it, and ifup fails; the model says so", () => {
    const twice = bringUp(["auto eth0", "iface eth0 inet static", "    address 192.0.2.10/24", "    up ip addr add 192.0.2.10/24 dev eth0", ""].join("\n"));
    expect(twice.status).not.toBe(0);
    expect(twice.model.unreadable.map((u) => `${u.line}: ${u.why}`)).toEqual(["4: 192.0.2.10 is on eth0 already: ip fails, and ifup with it"]);
    const missing = bringUp(["auto eth0", "iface eth0 inet manual", "    up ip addr add 192.0.2.10/24 dev eth7", ""].join("\n"));
    expect(missing.status).not.toBe(0);
    expect(missing.model.unreadable.map((u) => `${u.line}: ${u.why}`)).toEqual(["3: the host has no interface eth7: ip fails, and ifup with it"]);
  });

  it("a route the table holds already, of the same metric (a prefix route, a second gateway): ip refuses it, and ifup fails; the model says so; another metric is added", () => {
    const prefix = bringUp(["auto eth0", "iface eth0 inet static", "    address 192.0.2.10/24", "    up ip route add 192.0.2.0/24 dev eth0 metric 5", "    up ip route add 192.0.2.0/24 dev eth0 src 192.0.2.10", ""].join("\n"));
    expect(prefix.status).not.toBe(0);
    expect(prefix.model.unreadable.map((u) => `${u.line}: ${u.why}`)).toEqual(["5: a route to 192.0.2.0/24 is in that table already: ip fails, and ifup with it"]);
    const gateways = bringUp(["auto eth0", "iface eth0 inet static", "    address 192.0.2.10/24", "    gateway 192.0.2.1", "", "auto eth1", "iface eth1 inet static", "    address 198.51.100.10/24", "    gateway 198.51.100.1", ""].join("\n"));
    expect(gateways.status).not.toBe(0);
    expect(gateways.model.unreadable.map((u) => `${u.line}: ${u.why}`)).toEqual(["9: a default route is in the main table already: ip fails, and ifup with it"]);
  });

  it("an option ifup puts into its commands, given twice: ifup fails, its up lines not run; the model says so", () => {
    const twice = bringUp(["auto eth0", "iface eth0 inet static", "    address 192.0.2.10/24", "    gateway 192.0.2.1", "    gateway 192.0.2.2", "    up ip addr add 192.0.2.11/24 dev eth0", ""].join("\n"));
    expect(twice.status).not.toBe(0);
    // ifup stopped before its up line: the second address is not there.
    expect(twice.kernel.addresses.map((a) => ipText(a.address))).toEqual(["192.0.2.10"]);
    expect(twice.model.unreadable.map((u) => `${u.line}: ${u.why}`)).toEqual(["5: gateway given twice: ifup joins both values into one command, which fails"]);
  });
});


describeWith(["ifup", "ip", "iptables", "iptables-restore", "iptables-save", "ip6tables-restore", "ipset", "nft", "root"], "firewall commands of up lines, run by ifup: the firewall the model reads is the one the kernel holds", () => {
  it("an ipset line, then two iptables-restore files (the later's filter table replaces the earlier's), and an IPv6 one: the routes stay the model's, the firewall is what iptables-save shows", () => {
    const sets = "create adm hash:net family inet hashsize 1024 maxelem 65536\nadd adm 198.51.100.0/24\n";
    const early = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]", "-A INPUT -p tcp -m tcp --dport 22 -j DROP", "COMMIT", ""].join("\n");
    const late = [
      "*filter",
      ":INPUT DROP [0:0]",
      ":FORWARD ACCEPT [0:0]",
      ":OUTPUT ACCEPT [0:0]",
      "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
      "-A INPUT -p tcp -m tcp --dport 80 -m set --match-set adm src -j ACCEPT",
      "-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT",
      "-A FORWARD -d 192.0.2.99/32 -p tcp -m tcp --dport 22 -j DROP",
      "COMMIT",
      "",
    ].join("\n");
    const v6 = ["*filter", ":INPUT DROP [0:0]", "COMMIT", ""].join("\n");
    const interfaces = (dir: string) =>
      [
        "auto eth0",
        "iface eth0 inet static",
        "    address 192.0.2.10/24",
        `    pre-up ipset restore -exist < ${dir}/ipset.conf`,
        `    pre-up iptables-restore < ${dir}/early.rules`,
        `    up ip6tables-restore < ${dir}/v6.rules`,
        "",
        "auto eth1",
        "iface eth1 inet static",
        "    address 198.51.100.10/24",
        `    post-up /sbin/iptables-restore ${dir}/late.rules`,
        "",
      ].join("\n");
    const r = bringUp(interfaces, { "ipset.conf": sets, "early.rules": early, "late.rules": late, "v6.rules": v6 });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    // No line is a doubt on the routes, and they are the kernel's.
    expect(r.model.unreadable).toEqual([]);
    const shape = (rt: Routing) => rt.addresses.map((a) => `${a.dev} ${ipText(a.address)}/${a.prefix}`).sort();
    expect(shape(r.fromFile)).toEqual(["eth0 192.0.2.10/24", "eth1 198.51.100.10/24"]);
    expect(shape(r.kernel)).toEqual(shape(r.fromFile));
    const commands = r.model.firewallCommands(() => true);
    expect(commands.map((c) => c.does)).toEqual(["ipset.conf", "early.rules", "late.rules"].map((f, i) => ({ load: i ? "iptables-restore" : "ipset", path: Object.keys(r.files).find((p) => p.endsWith(`/${f}`)) })));
    // The firewall read from the files the lines load, and the one iptables-save shows after ifup, decide every packet alike.
    const fromFiles = new Firewalls(r.files, {}, [], commands);
    const fromKernel = new Firewalls(r.files, { iptablesSave: r.iptablesSave }, [], commands);
    expect([fromFiles.unreadable, fromKernel.unreadable]).toEqual([[], []]);
    expect(r.iptablesSave).toContain("-A INPUT -p tcp -m tcp --dport 80 -m set --match-set adm src -j ACCEPT");
    const seen: string[] = [];
    for (const pathOf of ["input", "forward"] as const) {
      for (const src of ["198.51.100.5", "203.0.113.5"]) {
        for (const dport of [22, 80, 443]) {
          const p: Packet = { src: ipNum(src)!, dst: ipNum(pathOf === "input" ? "192.0.2.10" : "192.0.2.99")!, protocol: "tcp", sport: 40000, dport, iif: "eth0", oif: pathOf === "input" ? "" : "eth1", state: "NEW" };
          const outcome = fromKernel.outcome(pathOf, p);
          expect({ pathOf, src, dport, outcome: fromFiles.outcome(pathOf, p) }).toEqual({ pathOf, src, dport, outcome });
          seen.push(`${pathOf} ${src} ${dport} ${outcome}`);
        }
      }
    }
    // Not a check that passes either way: the late file decides (the early one would let 80 in from anywhere, and forward nothing).
    expect(seen.filter((l) => l.endsWith("pass"))).toEqual(["input 198.51.100.5 80 pass", "input 198.51.100.5 443 pass", "input 203.0.113.5 443 pass", "forward 198.51.100.5 80 pass", "forward 198.51.100.5 443 pass", "forward 203.0.113.5 80 pass", "forward 203.0.113.5 443 pass"]);
  });

  it("an nft file that flushes the ruleset, loaded after iptables-restore: iptables' rules are gone with it (iptables' nf_tables backend), so the model leaves what remains unknown", () => {
    expect(run("iptables", ["-V"]).stdout).toContain("nf_tables");
    const rules = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", "-A INPUT -p tcp -m tcp --dport 22 -j DROP", "COMMIT", ""].join("\n");
    const nft = "flush ruleset\ntable inet f {\n  chain input {\n    type filter hook input priority 0; policy accept;\n  }\n}\n";
    const interfaces = (dir: string) => ["auto eth0", "iface eth0 inet static", "    address 192.0.2.10/24", `    pre-up iptables-restore < ${dir}/fw.rules`, `    up nft -f ${dir}/fw.nft`, ""].join("\n");
    const r = bringUp(interfaces, { "fw.rules": rules, "fw.nft": nft });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    // The kernel: the rule iptables-restore loaded is gone.
    expect(r.iptablesSave).not.toContain("--dport 22");
    const firewall = new Firewalls(r.files, {}, [], r.model.firewallCommands(() => true));
    expect(firewall.unreadable.map((u) => u.why)).toEqual([`${Object.keys(r.files).find((p) => p.endsWith("/fw.nft"))} flushes the ruleset, and with it what was loaded before (iptables' rules too, under its nf_tables backend): what remains is not read by the model (nft list ruleset, captured beside the copy, shows what runs)`]);
  });
});

describeWith(["ifup", "ip", "root"], "an interfaces file split by source and source-directory, read by ifupdown", () => {
  it("ifup -a brings up what the sourced files hold, in place, and the model of the tree reads the same addresses, rules and routes", () => {
    const whole = fileOf(seed.webserv, "/etc/network/interfaces");
    const [at1, at2] = [whole.indexOf("auto eth1"), whole.indexOf("auto eth2")];
    // By path on the host; on disk below a scratch folder, where ifup -i takes the relative paths from the file's folder too.
    const tree: Record<string, string> = {
      "/etc/network/interfaces": `${whole.slice(0, at1)}source interfaces.d/*\nsource-directory /etc/network/more.d\n`,
      "/etc/network/interfaces.d/eth1": whole.slice(at1, at2),
      "/etc/network/more.d/eth2": whole.slice(at2),
      "/etc/network/more.d/eth2.dpkg-old": "auto eth2\niface eth2 inet static\n    address 198.51.100.9/24\n",
    };
    const tmp = tempDir();
    const ns = netns("is");
    try {
      const root = path.join(tmp.dir, "etc", "network");
      const onDisk = (p: string) => path.join(tmp.dir, p);
      for (const [p, text] of Object.entries(tree)) {
        fs.mkdirSync(path.dirname(onDisk(p)), { recursive: true });
        // The absolute source-directory path, moved below the scratch folder.
        fs.writeFileSync(onDisk(p), text.replace("source-directory /etc/network/more.d", `source-directory ${path.join(root, "more.d")}`));
      }
      for (const v of seed.webserv._guestModel().vifs) {
        ns.sh("ip", "link", "add", v.device, "address", v.mac, "type", "veth", "peer", "name", `peer${v.index}`);
        ns.exec("ip", ["link", "set", `peer${v.index}`, "up"]);
      }
      fs.mkdirSync(path.join(tmp.dir, "state"));
      const up = ns.exec("ifup", ["-a", "-i", path.join(root, "interfaces"), "--state-dir", path.join(tmp.dir, "state")]);
      expect({ status: up.status, stderr: up.stderr }).toEqual({ status: 0, stderr: "" });
      const addr = ns.exec("ip", ["-4", "-o", "addr", "show"]).stdout;
      const route = ns.exec("ip", ["-4", "route", "show", "table", "all"]).stdout;
      const rule = ns.exec("ip", ["-4", "rule", "show"]).stdout;
      const fromKernel = readLiveRouting({ addr, route, rule }, {});
      expect(fromKernel.unreadable).toEqual([]);
      const fromFiles = new Routing();
      const cfg = new IfupdownConfig("/etc/network/interfaces", tree["/etc/network/interfaces"], tree);
      cfg.bringUp(fromFiles, {}, () => true);
      expect(cfg.unreadable).toEqual([]);
      const shape = (r: Routing) => r.addresses.map((a) => `${a.dev} ${ipText(a.address)}/${a.prefix}`).sort();
      // eth2.dpkg-old is not read: 198.51.100.9 is on no interface.
      expect(shape(fromFiles)).toEqual(["eth0 192.168.0.200/24", "eth1 192.168.0.201/24", "eth2 192.168.0.202/24"]);
      expect(shape(fromKernel.routing)).toEqual(shape(fromFiles));
      for (const src of ["192.168.0.200", "192.168.0.201", "192.168.0.202"]) {
        for (const dst of ["203.0.113.77", "192.168.0.50"]) {
          const dev = (r: Routing) => r.lookup(ipNum(dst)!, ipNum(src)!)?.route.dev;
          expect({ src, dst, dev: dev(fromFiles) }).toEqual({ src, dst, dev: dev(fromKernel.routing) });
        }
      }
    } finally {
      ns.remove();
      tmp.remove();
    }
  });

  it("Debian's layout, source at the top: the sourced stanza comes up first, its prefix route is first in the main table, for the kernel and the model", () => {
    // The seed article's hand-made file (no policy routing): which interface a reply on the shared subnet leaves by is the main table's first route.
    const whole = fs.readFileSync(path.join(__dirname, "..", "fixtures", "seed-by-hand", "webserv", "etc", "network", "interfaces"), "utf8");
    const at = whole.indexOf("auto eth2");
    const tree: Record<string, string> = { "/etc/network/interfaces": `source interfaces.d/*\n\n${whole.slice(0, at)}`, "/etc/network/interfaces.d/eth2": whole.slice(at) };
    const tmp = tempDir();
    const ns = netns("it");
    try {
      for (const [p, text] of Object.entries(tree)) {
        fs.mkdirSync(path.dirname(path.join(tmp.dir, p)), { recursive: true });
        fs.writeFileSync(path.join(tmp.dir, p), text);
      }
      for (const v of seed.webserv._guestModel().vifs) {
        ns.sh("ip", "link", "add", v.device, "address", v.mac, "type", "veth", "peer", "name", `peer${v.index}`);
        ns.exec("ip", ["link", "set", `peer${v.index}`, "up"]);
      }
      fs.mkdirSync(path.join(tmp.dir, "state"));
      const up = ns.exec("ifup", ["-a", "-i", path.join(tmp.dir, "etc", "network", "interfaces"), "--state-dir", path.join(tmp.dir, "state")]);
      expect({ status: up.status, stderr: up.stderr }).toEqual({ status: 0, stderr: "" });
      const live = { addr: ns.exec("ip", ["-4", "-o", "addr", "show"]).stdout, route: ns.exec("ip", ["-4", "route", "show", "table", "all"]).stdout, rule: ns.exec("ip", ["-4", "rule", "show"]).stdout };
      const fromKernel = readLiveRouting(live, {});
      const fromFiles = new Routing();
      new IfupdownConfig("/etc/network/interfaces", tree["/etc/network/interfaces"], tree).bringUp(fromFiles, {}, () => true);
      const leaves = (r: Routing) => ["192.168.0.200", "192.168.0.201", "192.168.0.202"].map((src) => r.lookup(ipNum("192.168.0.50")!, ipNum(src)!)?.route.dev);
      expect(leaves(fromKernel.routing)).toEqual(["eth2", "eth2", "eth2"]);
      expect(leaves(fromFiles)).toEqual(leaves(fromKernel.routing));
    } finally {
      ns.remove();
      tmp.remove();
    }
  });
});

describeWith(["iptables-restore", "iptables-save", "ip6tables-restore", "ip6tables-save", "ipset", "ip", "unshare", "root", "/usr/share/netfilter-persistent/plugins.d/25-ip6tables", "/usr/share/netfilter-persistent/plugins.d/15-ip4tables"], "dom0 ruleset read by iptables-restore", () => {
  let ns: ReturnType<typeof netns>;
  beforeAll(() => (ns = netns("fw")));
  afterAll(() => ns.remove());
  const rules = fileOf(seed.dom0, "/etc/iptables/rules.v4");
  const rules6 = fileOf(seed.dom0, "/etc/iptables/rules.v6");
  const strip = (t: string) => t.split("\n").filter((l) => l && !l.startsWith("#")).join("\n");

  it("the IPv6 ruleset passes ip6tables-restore --test, loads, and ip6tables-save prints it back exactly", () => {
    expect(ns.exec("ip6tables-restore", ["--test"], rules6)).toMatchObject({ status: 0, stderr: "" });
    expect(ns.exec("ip6tables-restore", [], rules6).status).toBe(0);
    expect(strip(ns.exec("ip6tables-save", ["-t", "filter"]).stdout)).toBe(strip(rules6));
  });

  it("passes iptables-restore --test", () => {
    const r = ns.exec("iptables-restore", ["--test"], rules);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("loads, and iptables-save prints back exactly the rendered rules", () => {
    expect(ns.exec("iptables-restore", [], rules).status).toBe(0);
    const saved = ns.exec("iptables-save", ["-t", "filter"]).stdout;
    expect(strip(saved)).toBe(strip(rules));
  });

  it("rules with source ports (one range or several, beside one destination range or several), per address and through ipsets: iptables-save prints them back exactly", () => {
    const dom0 = new XenHost(new TerraformStack(Testing.app(), "sports"), "dom0", { ssh: { host: "203.0.113.10" }, uplink: { device: "eth0", address: "192.0.2.1/24" } });
    const g = new RoutedDomU(dom0, "g", { disks: [], vifs: [{ mac: "00:16:3e:00:05:00", address: "192.0.2.60/24" }] });
    new ForwardRule(dom0, "one-one", { to: g, ports: [Port.udp(53)], sourcePorts: [Port.udpRange(1024, 65535)] });
    new ForwardRule(dom0, "one-many", { to: g, ports: [22, 2222], sourcePorts: [Port.tcpRange(1024, 65535)], from: ["203.0.113.0/24"] });
    new ForwardRule(dom0, "many-one", { to: g, ports: [8443], sourcePorts: [Port.tcp(1), Port.tcpRange(5, 7)], from: ["198.51.100.0/24"] });
    new ForwardRule(dom0, "many-many", { to: g, ports: [Port.udp(500), Port.udp(4500)], sourcePorts: [Port.udp(500), Port.udp(4500)] });
    for (const sets of [false, true]) {
      const text = renderIptablesRules(dom0._firewallModel(), { sets });
      expect(text).toContain(" -m udp --sport 1024:65535 --dport 53 -j ACCEPT");
      if (sets) expect(ns.exec("ipset", ["restore", "-exist"], renderIpsets(dom0._firewallModel()))).toMatchObject({ status: 0, stderr: "" });
      expect(ns.exec("iptables-restore", [], text)).toMatchObject({ status: 0, stderr: "" });
      expect(strip(ns.exec("iptables-save", ["-t", "filter"]).stdout)).toBe(strip(text));
    }
    // The seed's ruleset again, and no set left, for the tests after this one.
    expect(ns.exec("iptables-restore", [], rules).status).toBe(0);
    expect(ns.exec("ipset", ["destroy"]).status).toBe(0);
  });

  it("iptables-restore --test rejects a corrupted ruleset (the check can fail)", () => {
    const r = ns.exec("iptables-restore", ["--test"], rules.replace("--dports 80,443", "--dports 80,99999"));
    expect(r.status).not.toBe(0);
  });

  /** The firewall script (iptables backend, no sets) in `dir`, its rules.v6 in place and its rules.v4 still to write. */
  function firewallScriptIn(dir: string) {
    const file = path.join(dir, "rules.v4");
    const file6 = path.join(dir, "rules.v6");
    const script = path.join(dir, "fw");
    fs.writeFileSync(file6, rules6);
    const paths = { iptablesRules: file, ip6tablesRules: file6, ipsets: path.join(dir, "ipsets"), nftRules: path.join(dir, "firewall.nft") };
    fs.writeFileSync(script, renderFirewallScript({ backend: "iptables", paths, stateDir: path.join(dir, "state") }), { mode: 0o755 });
    return { file, file6, script };
  }

  it("the firewall script checks and loads the ruleset", () => {
    const tmp = tempDir();
    try {
      // The seed's ruleset loaded (FORWARD policy DROP): what a refused load must leave.
      expect(ns.exec("iptables-restore", [], rules).status).toBe(0);
      const { file, file6, script } = firewallScriptIn(tmp.dir);
      fs.writeFileSync(file, rules.replace(":FORWARD DROP", ":FORWARD ACCEPT").replace("--dports 80,443", "--dports 80,99999"));
      expect(ns.exec(script, ["check", file, file6]).status).not.toBe(0);
      expect(ns.exec(script, ["load"]).status).not.toBe(0);
      fs.writeFileSync(file, rules.replace(":FORWARD DROP", ":FORWARD ACCEPT"));
      // A refused IPv6 ruleset refuses the whole: nothing is loaded.
      fs.writeFileSync(file6, rules6.replace("ipv6-icmp", "no-such-protocol"));
      expect(ns.exec(script, ["check", file, file6]).status).not.toBe(0);
      expect(ns.exec(script, ["load"]).status).not.toBe(0);
      expect(ns.exec("iptables", ["-S", "FORWARD"]).stdout.split("\n")[0]).not.toBe("-P FORWARD ACCEPT");
      fs.writeFileSync(file6, rules6);
      expect(ns.exec(script, ["check", file, file6])).toMatchObject({ status: 0, stderr: "" });
      const r = ns.exec(script, ["load"]);
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
      expect(ns.exec("iptables", ["-S", "FORWARD"]).stdout.split("\n")[0]).toBe("-P FORWARD ACCEPT");
      expect(strip(ns.exec("ip6tables-save", ["-t", "filter"]).stdout)).toBe(strip(rules6));
    } finally {
      tmp.remove();
    }
  });

  it("without iptables-persistent (nothing would load rules.v4 at boot), check and load refuse and say so", () => {
    const tmp = tempDir();
    try {
      const { file, file6, script } = firewallScriptIn(tmp.dir);
      fs.writeFileSync(file, rules);
      const before = ns.exec("iptables-save", ["-t", "filter"]).stdout.replace(/^#.*\n/gm, "");
      const withoutPlugins = (args: string) => ns.exec("unshare", ["-m", "sh", "-c", `mount -t tmpfs cdktf-xen-test /usr/share/netfilter-persistent/plugins.d && sh "$0" ${args}`, script, file, file6]);
      for (const args of ['check "$1" "$2"', "load"]) {
        const r = withoutPlugins(args);
        expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 1, stderr: "cdktf-xen-firewall: iptables-persistent not found: install it, or rules.v4 and rules.v6 do not load at boot and the dom0 boots without this firewall\n" });
      }
      expect(ns.exec("iptables-save", ["-t", "filter"]).stdout.replace(/^#.*\n/gm, "")).toBe(before);
    } finally {
      tmp.remove();
    }
  });

  it("lists of addresses (-s a,b -d c,d): the model reads the file as iptables loads it, a rule per address; a negated list iptables refuses, and the model does not read", () => {
    const listed = [
      "*filter",
      ":INPUT ACCEPT [0:0]",
      ":FORWARD DROP [0:0]",
      ":OUTPUT ACCEPT [0:0]",
      "-A FORWARD -d 192.0.2.10,192.0.2.11/32 -p tcp -m tcp --dport 80 -s 198.51.100.0/25,203.0.113.0/24 -j ACCEPT",
      "-A FORWARD -s 198.51.100.0/24,100.64.0.0/10 -p udp -m udp --dport 53 -j ACCEPT",
      "COMMIT",
      "",
    ].join("\n");
    expect(ns.exec("iptables-restore", [], listed)).toMatchObject({ status: 0, stderr: "" });
    const saved = ns.exec("iptables-save", ["-t", "filter"]).stdout;
    expect(saved.split("\n").filter((l) => l.startsWith("-A"))).toHaveLength(6);
    const verdicts = (text: string) => {
      const filter = new IptablesFilter("rules.v4", text);
      expect(filter.unreadable).toEqual([]);
      return ["198.51.100.1", "198.51.100.200", "203.0.113.9", "100.64.0.1", "192.0.2.77"].flatMap((from) =>
        ["192.0.2.10", "192.0.2.11", "192.0.2.12"].flatMap((to) =>
          (["tcp", "udp"] as const).map((protocol) => {
            const p = { src: ipNum(from)!, dst: ipNum(to)!, protocol, sport: 40000, dport: protocol === "tcp" ? 80 : 53, iif: "eth0", oif: "vif1", state: "NEW" as const };
            return `${protocol} ${from} -> ${to}: ${filter.evaluate("FORWARD", p, IpSets.read("ipsets", ""), false).outcome}`;
          }),
        ),
      );
    };
    const read = verdicts(listed);
    expect(read).toEqual(verdicts(saved));
    expect(read.filter((v) => v.endsWith("pass"))).toHaveLength(2 * 2 + 3 * 3);
    const negated = "*filter\n:FORWARD DROP [0:0]\n-A FORWARD ! -s 198.51.100.0/24,203.0.113.0/24 -j ACCEPT\nCOMMIT\n";
    expect(ns.exec("iptables-restore", ["--test"], negated).stderr).toContain("! not allowed with multiple source or destination IP addresses");
    expect(new IptablesFilter("rules.v4", negated).evaluate("FORWARD", { src: ipNum("192.0.2.77")!, dst: ipNum("192.0.2.10")!, protocol: "tcp", sport: 40000, dport: 80, iif: "eth0", oif: "vif1", state: "NEW" }, IpSets.read("ipsets", ""), true)).toMatchObject({ outcome: "unknown", text: expect.stringContaining("iptables refuses a negated list of addresses") });
    expect(ns.exec("iptables-restore", [], rules).status).toBe(0);
  });
});

describeWith(["ipset", "/usr/share/netfilter-persistent/plugins.d/10-ipset", "/usr/share/netfilter-persistent/plugins.d/15-ip4tables", "/usr/share/netfilter-persistent/plugins.d/25-ip6tables", "ip6tables-restore", "iptables-restore", "iptables-save", "ip", "unshare", "root"], "dom0 ipsets read by ipset and iptables-restore; the firewall script with sets", () => {
  let ns: ReturnType<typeof netns>;
  const tmp = tempDir();
  beforeAll(() => (ns = netns("is")));
  afterAll(() => {
    ns.remove();
    tmp.remove();
  });
  const files = { rules: path.join(tmp.dir, "rules.v4"), rules6: path.join(tmp.dir, "rules.v6"), sets: path.join(tmp.dir, "ipsets"), state: path.join(tmp.dir, "state"), script: path.join(tmp.dir, "fw") };
  const strip = (t: string) => t.split("\n").filter((l) => l && !l.startsWith("#")).join("\n");
  /** The seed's firewall, or the seed's with one guest address less. */
  const model = (fewer = false) => {
    const fw = seed.dom0._firewallModel();
    return fewer ? { ...fw, accepts: fw.accepts.slice(1) } : fw;
  };
  const live = () => ({ rules: strip(ns.exec("iptables-save", ["-t", "filter"]).stdout), sets: ns.exec("ipset", ["list", "-n"]).stdout.split("\n").filter(Boolean).sort() });
  const setName = (text: string) => /create (\S+)/.exec(text)![1];
  const pending = (file: string) => `${file}${PENDING_SUFFIX}`;
  const writeScript = () =>
    fs.writeFileSync(files.script, renderFirewallScript({ backend: "iptables", sets: true, paths: { iptablesRules: files.rules, ip6tablesRules: files.rules6, ipsets: files.sets, nftRules: path.join(tmp.dir, "firewall.nft") }, stateDir: files.state }), { mode: 0o755 });
  /**
   * The firewall `fw` confirmed: its files in place, checked and loaded by the
   * script, nothing pending and no decision left. What each test of the
   * script's try and confirm starts from, so that any one of them runs alone.
   */
  const confirmed = (fw: ReturnType<typeof model>) => {
    writeScript();
    fs.rmSync(files.state, { recursive: true, force: true });
    for (const f of [files.sets, files.rules, files.rules6]) fs.rmSync(pending(f), { force: true });
    fs.writeFileSync(files.sets, renderIpsets(fw));
    fs.writeFileSync(files.rules, renderIptablesRules(fw, { sets: true }));
    fs.writeFileSync(files.rules6, renderIp6tablesRules(fw));
    expect(ns.exec(files.script, ["check", files.rules, files.rules6, files.sets])).toMatchObject({ status: 0, stderr: "" });
    expect(ns.exec(files.script, ["load"])).toMatchObject({ status: 0, stderr: "" });
    expect(live()).toEqual({ rules: strip(renderIptablesRules(fw, { sets: true })), sets: [setName(renderIpsets(fw))] });
  };

  it("ipset restores the sets; iptables-restore loads rules that use them; iptables-save prints them back exactly", () => {
    const sets = renderIpsets(model());
    const rules = renderIptablesRules(model(), { sets: true });
    expect(ns.exec("iptables-restore", ["--test"], rules).stderr).toContain(`Set ${setName(sets)} doesn't exist`);
    expect(ns.exec("ipset", ["restore"], sets)).toMatchObject({ status: 0, stderr: "" });
    expect(ns.exec("iptables-restore", ["--test"], rules)).toMatchObject({ status: 0, stderr: "" });
    expect(ns.exec("iptables-restore", [], rules).status).toBe(0);
    expect(live().rules).toBe(strip(rules));
    // A hash set lists its members in its own order.
    expect(strip(ns.exec("ipset", ["save", setName(sets)]).stdout).split("\n").slice(1).sort()).toEqual(strip(sets).split("\n").slice(1).sort());
  });

  it("the firewall script checks and loads sets and rules, and drops the sets no rule uses any more", () => {
    writeScript();
    fs.writeFileSync(files.sets, renderIpsets(model(true)));
    fs.writeFileSync(files.rules, renderIptablesRules(model(true), { sets: true }));
    fs.writeFileSync(files.rules6, renderIp6tablesRules(model(true)));
    const before = live();
    // check creates the new set under its own name, and changes no rule.
    expect(ns.exec(files.script, ["check", files.rules, files.rules6, files.sets])).toMatchObject({ status: 0, stderr: "" });
    expect(live().rules).toBe(before.rules);
    expect(live().sets).toEqual([...before.sets, setName(renderIpsets(model(true)))].sort());
    expect(ns.exec(files.script, ["load"])).toMatchObject({ status: 0, stderr: "" });
    expect(live()).toEqual({ rules: strip(renderIptablesRules(model(true), { sets: true })), sets: [setName(renderIpsets(model(true)))] });
    // A ruleset iptables-restore refuses leaves no set behind, and nothing else changed.
    const loaded = live();
    const refused = path.join(tmp.dir, "refused.v4");
    fs.writeFileSync(refused, renderIptablesRules(model(), { sets: true }).replace("--dports 80,443", "--dports 80,99999"));
    fs.writeFileSync(`${refused}.sets`, renderIpsets(model()));
    expect(ns.exec(files.script, ["check", refused, files.rules6, `${refused}.sets`]).status).not.toBe(0);
    expect(live()).toEqual(loaded);
  });

  it("try without confirm: the previous rules, sets and files come back; try and confirm keeps the new ones", async () => {
    confirmed(model(true));
    const before = { live: live(), sets: fs.readFileSync(files.sets, "utf8"), rules: fs.readFileSync(files.rules, "utf8") };
    // As the deploy step leaves it: the new files beside the confirmed ones, pending.
    const deploy = () => {
      fs.writeFileSync(pending(files.sets), renderIpsets(model()));
      fs.writeFileSync(pending(files.rules), renderIptablesRules(model(), { sets: true }));
      fs.writeFileSync(pending(files.rules6), renderIp6tablesRules(model()));
    };
    const onDisk = () => ({ sets: fs.readFileSync(files.sets, "utf8"), rules: fs.readFileSync(files.rules, "utf8"), pending: [files.sets, files.rules, files.rules6].filter((f) => fs.existsSync(pending(f))) });
    deploy();
    expect(ns.exec(files.script, ["try", "1"])).toMatchObject({ status: 0, stderr: "" });
    expect(live().sets).toEqual([setName(renderIpsets(model()))]);
    // Loaded, not confirmed: boot would still load the confirmed files.
    expect(onDisk()).toMatchObject({ sets: before.sets, rules: before.rules });
    const started = Date.now();
    while (!fs.existsSync(path.join(files.state, "firewall.decided", "rolled-back")) && Date.now() - started < 10000) await new Promise((r) => setTimeout(r, 100));
    expect(live()).toEqual(before.live);
    expect(onDisk()).toEqual({ sets: before.sets, rules: before.rules, pending: [] });
    expect(ns.exec(files.script, ["confirm"]).stderr).toContain("too late, the previous ruleset is back: rolled back: no confirmation within 1 s");
    // Nothing waits any more: a try loads nothing, and says so.
    expect(ns.exec(files.script, ["try", "1"])).toMatchObject({ status: 0, stderr: expect.stringContaining("nothing to try") });
    expect(live()).toEqual(before.live);

    deploy();
    expect(ns.exec(files.script, ["try", "2"]).status).toBe(0);
    const watchdog = fs.readFileSync(path.join(files.state, "firewall.watchdog.pid"), "utf8").trim();
    expect(running(Number(watchdog))).toBe(true);
    expect(ns.exec(files.script, ["confirm"])).toMatchObject({ status: 0, stderr: "" });
    // confirm ended the watchdog (its whole process group), not merely its pid file.
    await new Promise((r) => setTimeout(r, 200));
    expect(running(Number(watchdog))).toBe(false);
    await new Promise((r) => setTimeout(r, 2500));
    expect(live()).toEqual({ rules: strip(renderIptablesRules(model(), { sets: true })), sets: [setName(renderIpsets(model()))] });
    expect(onDisk()).toEqual({ sets: renderIpsets(model()), rules: renderIptablesRules(model(), { sets: true }), pending: [] });
  });

  it("a second try supersedes a pending one; a watchdog waits for a running deploy step", async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const withEgress = { ...model(), egress: [{ address: "192.168.0.200", vifname: "webserv-0" }] };
    const put = (fw: ReturnType<typeof model>) => {
      fs.writeFileSync(pending(files.sets), renderIpsets(fw));
      fs.writeFileSync(pending(files.rules), renderIptablesRules(fw, { sets: true }));
      fs.writeFileSync(pending(files.rules6), renderIp6tablesRules(fw));
    };
    const rulesOf = (fw: ReturnType<typeof model>) => strip(renderIptablesRules(fw, { sets: true }));
    const rolledBack = () => fs.existsSync(path.join(files.state, "firewall.decided", "rolled-back"));
    confirmed(model());

    // try (1 s) loads the smaller ruleset; at once a second try (3 s) loads one with egress.
    put(model(true));
    expect(ns.exec(files.script, ["try", "1"]).status).toBe(0);
    put(withEgress);
    expect(ns.exec(files.script, ["try", "3"]).status).toBe(0);
    await sleep(1800);
    expect({ rules: live().rules, rolledBack: rolledBack() }).toEqual({ rules: rulesOf(withEgress), rolledBack: false });
    // The second one, unconfirmed, goes back to what was live before it: the first one's.
    const started = Date.now();
    while (!rolledBack() && Date.now() - started < 10000) await sleep(100);
    expect(live().rules).toBe(rulesOf(model(true)));

    // A deploy step holds the host's lock when the watchdog wakes: it waits for the step.
    put(model());
    expect(ns.exec(files.script, ["try", "1"]).status).toBe(0);
    const holder = ns.exec("sh", ["-c", 'flock "$0" sleep 3 >/dev/null 2>&1 & echo $!', path.join(files.state, "lock")]);
    await sleep(2000);
    expect({ rules: live().rules, rolledBack: rolledBack() }).toEqual({ rules: rulesOf(model()), rolledBack: false });
    while (!rolledBack() && Date.now() - started < 20000) await sleep(100);
    expect(live().rules).toBe(rulesOf(model(true)));
    // The lock holder has ended by itself; make sure.
    run("kill", [holder.stdout.trim()]);
  });

  it("a confirm cut short before rules.v4 is in place: what boot loads still fits together, and the next confirm finishes", () => {
    const read = (f: string) => fs.readFileSync(f, "utf8");
    confirmed(model());
    const before = { sets: read(files.sets), rules: read(files.rules) };
    const next = model(true);
    expect(setName(renderIpsets(next))).not.toBe(setName(before.sets));
    fs.writeFileSync(pending(files.sets), renderIpsets(next));
    fs.writeFileSync(pending(files.rules), renderIptablesRules(next, { sets: true }));
    fs.writeFileSync(pending(files.rules6), renderIp6tablesRules(next));
    expect(ns.exec(files.script, ["try", "600"])).toMatchObject({ status: 0, stderr: "" });
    // The power goes as confirm renames rules.v4 into place: an mv that kills the script instead.
    const bin = path.join(tmp.dir, "cut-bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "mv"), `#!/bin/sh\nfor last; do :; done\nif [ "$last" = ${files.rules} ]; then kill -9 "$PPID"; exit 1; fi\nexec /bin/mv "$@"\n`, { mode: 0o755 });
    expect(ns.exec("env", [`PATH=${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, files.script, "confirm"]).status).not.toBe(0);
    // Boot, as netfilter-persistent's plugins do it: the sets file, then rules.v4 (which needs its sets).
    const boot = ns.exec("sh", ["-c", 'nft flush ruleset && ipset destroy && ipset restore -exist < "$0" && iptables-restore < "$1"', files.sets, files.rules]);
    expect({ status: boot.status, stderr: boot.stderr }).toEqual({ status: 0, stderr: "" });
    expect(live()).toEqual({ rules: strip(before.rules), sets: [setName(before.sets), setName(renderIpsets(next))].sort() });
    // The deploy's confirm, run again (its step re-activates on failure), finishes the job.
    expect(ns.exec(files.script, ["confirm"])).toMatchObject({ status: 0, stderr: "" });
    expect({ sets: read(files.sets), rules: read(files.rules), pending: [files.sets, files.rules, files.rules6].filter((f) => fs.existsSync(pending(f))) }).toEqual({
      sets: renderIpsets(next),
      rules: renderIptablesRules(next, { sets: true }),
      pending: [],
    });
  });

  it("without ipset-persistent (the sets would not load at boot, nor then the rules), check refuses and says so", () => {
    confirmed(model());
    const plugins = "/usr/share/netfilter-persistent/plugins.d";
    const r = ns.exec("unshare", ["-m", "sh", "-c", `mount -t tmpfs cdktf-xen-test ${plugins} && sh "$0" check "$1" "$2" "$3"`, files.script, files.rules, files.rules6, files.sets]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toBe("cdktf-xen-firewall: ipset-persistent not found: install it, or the ruleset, which uses ipsets, does not load at boot\n");
  });

  it("without the ipset program, check refuses and says what to install", () => {
    confirmed(model());
    const bin = path.join(tmp.dir, "bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.symlinkSync(sh("sh", ["-c", "command -v iptables-restore"]).trim(), path.join(bin, "iptables-restore"));
    const r = ns.exec("env", [`PATH=${bin}:/usr/bin:/bin`, "sh", files.script, "check", files.rules, files.rules6, files.sets]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toBe("cdktf-xen-firewall: ipset not found: install ipset and ipset-persistent\n");
  });
});

describeWith(["nft", "ip", "root"], "dom0 ruleset read by nft", () => {
  let ns: ReturnType<typeof netns>;
  beforeAll(() => (ns = netns("nf")));
  afterAll(() => ns.remove());

  function ruleset(managementCidrs = ["198.51.100.0/24"]) {
    const stack = new TerraformStack(Testing.app(), "s");
    const dom0 = new XenHost(stack, "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" }, firewall: { managementCidrs } });
    const g = new RoutedDomU(dom0, "g", { disks: [], allowEgress: true, vifs: [0, 1].map((i) => ({ mac: `00:16:3e:00:00:2${i}`, address: `192.0.2.2${i}/24` })) });
    new ForwardRule(dom0, "web", { to: g, ports: [80, 443, Port.tcpRange(8000, 8080)] });
    new ForwardRule(dom0, "dns", { to: "192.0.2.20", ports: [Port.udp(53)], from: ["203.0.113.0/24"], sourcePorts: [Port.udpRange(1024, 65535)] });
    return renderNftRuleset(dom0._firewallModel());
  }

  it.each([["198.51.100.0/24"], ["0.0.0.0/0"]])("nft -c accepts it; it loads, loads again (replacing its table), and lists back as rendered (management from %s)", (cidr) => {
    const text = ruleset([cidr]);
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

describeWith(["nft", "ip", "root"], "nftables files that include others, loaded by nft: the model reads what nft loads, and leaves unknown what nft refuses, merges or flushes", () => {
  let ns: ReturnType<typeof netns>;
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    ns = netns("ni");
    tmp = tempDir("cdktf-xen-nft-include-");
  });
  afterAll(() => {
    ns.remove();
    tmp.remove();
  });

  const table = (name: string, rules: string, policy = "accept", priority = 0) => `table inet ${name} {\n  chain c {\n    type filter hook forward priority ${priority}; policy ${policy};\n    ${rules}\n  }\n}\n`;

  /** Writes `files` (paths under the test's folder, as `@/...`) and loads the first with `nft -f`, after an empty ruleset; returns the model's files (by absolute path), nft's result and what it lists then. */
  function load(files: Record<string, string>): { files: Record<string, string>; status: number | null; stderr: string; listed: string } {
    const abs = (p: string) => p.replace(/^@/, tmp.dir);
    const out: Record<string, string> = {};
    for (const [p, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(abs(p)), { recursive: true });
      fs.writeFileSync(abs(p), abs(text).split("@/").join(`${tmp.dir}/`));
      out[abs(p)] = fs.readFileSync(abs(p), "utf8");
    }
    ns.sh("nft", "flush", "ruleset");
    const first = abs(Object.keys(files)[0]);
    const r = ns.exec("nft", ["-f", first]);
    const listed = ns.exec("nft", ["list", "ruleset"]).stdout;
    for (const p of Object.keys(files)) fs.rmSync(abs(p));
    // The first file as nftables.conf: what loads at boot.
    const { [first]: conf, ...rest } = out;
    return { files: { "/etc/nftables.conf": conf, ...rest }, status: r.status, stderr: r.stderr, listed };
  }

  const packet = (src: string, dport: number): Packet => ({ src: ipNum(src)!, dst: ipNum("192.0.2.10")!, protocol: "tcp", sport: 40000, dport, iif: "eth0", oif: "vif1.0", state: "NEW" });

  it("an absolute path and a wildcard's files: what the model reads from the files decides every packet as the ruleset nft lists", () => {
    const r = load({
      "@/nftables.conf": ["flush ruleset", table("base", "tcp dport 22 drop"), 'include "@/main.nft"', 'include "@/d/*.nft"', ""].join("\n"),
      "@/main.nft": table("main", "ip saddr 198.51.100.0/24 tcp dport 80 drop", "accept", 10),
      "@/d/b.nft": table("b", "tcp dport { 80, 443 } accept", "drop", 20),
      "@/d/a.nft": table("a", "ip saddr 203.0.113.0/24 tcp dport 443 drop", "accept", 30),
      "@/d/skipped.txt": table("skipped", "drop"),
    });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(r.listed).not.toContain("skipped");
    const fromFiles = new Firewalls(r.files);
    const fromKernel = new Firewalls(r.files, { nftRuleset: r.listed });
    expect([fromFiles.unreadable, fromKernel.unreadable]).toEqual([[], []]);
    const passed: string[] = [];
    for (const src of ["198.51.100.5", "203.0.113.5"]) {
      for (const dport of [22, 80, 443, 8080]) {
        const outcome = fromKernel.outcome("forward", packet(src, dport));
        expect({ src, dport, outcome: fromFiles.outcome("forward", packet(src, dport)) }).toEqual({ src, dport, outcome });
        if (outcome === "pass") passed.push(`${src} ${dport}`);
      }
    }
    // Each file decides some packet: 22 by base, 80 from 198.51.100.5 by main, 8080 by b's policy, 443 from 203.0.113.5 by a.
    expect(passed).toEqual(["198.51.100.5 443", "203.0.113.5 80"]);
  });

  it("a wildcard's files load in byte order (B.nft, which makes the table, before a.nft, which adds to it), the order the model takes them in", () => {
    const r = load({ "@/conf.nft": 'include "@/o/*.nft"\n', "@/o/B.nft": table("o", ""), "@/o/a.nft": "add rule inet o c tcp dport 22 drop\n" });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(r.listed).toContain("tcp dport 22 drop");
    expect(nftIncludes(r.files).found.map((p) => path.basename(p))).toEqual(["B.nft", "a.nft"]);
  });

  it("a name without a leading / is looked for in the include path (/etc by default, as nft --help says), not beside the file", () => {
    expect(run("nft", ["--help"]).stdout).toMatch(/--includepath <directory>\s+Add <directory> to the paths searched for include files\. Default is: \/etc\n/);
    fs.mkdirSync(path.join(tmp.dir, "inc"), { recursive: true });
    fs.writeFileSync(path.join(tmp.dir, "inc", "r.nft"), table("r", ""));
    fs.writeFileSync(path.join(tmp.dir, "inc", "conf.nft"), 'include "r.nft"\n');
    const beside = ns.exec("nft", ["-f", path.join(tmp.dir, "inc", "conf.nft")]);
    expect([beside.status, beside.stderr]).toEqual([1, expect.stringContaining("Error: File not found: r.nft")]);
    const onPath = ns.exec("nft", ["-I", path.join(tmp.dir, "inc"), "-f", path.join(tmp.dir, "inc", "conf.nft")]);
    expect([onPath.status, onPath.stderr]).toEqual([0, ""]);
    fs.rmSync(path.join(tmp.dir, "inc"), { recursive: true });
  });

  it.each([
    ["a file that is not there: nft loads nothing of the file", { "@/conf.nft": `${table("x", "tcp dport 22 drop")}include "@/gone.nft"\n` }, 1, "", /^\/etc\/nftables\.conf:7 includes \S+\/gone\.nft, which the files do not hold/],
    ["the same table in two files: nft adds the second's rules to the first's chain", { "@/conf.nft": `${table("m", "tcp dport 22 accept")}include "@/m2.nft"\n`, "@/m2.nft": table("m", "tcp dport 22 drop") }, 0, "tcp dport 22 accept\n\t\ttcp dport 22 drop", /^\S+\/m2\.nft:1 table inet m is in \/etc\/nftables\.conf too/],
    ["an included file that flushes the ruleset: the table before it is gone", { "@/conf.nft": `${table("e", "")}include "@/fl.nft"\n`, "@/fl.nft": `flush ruleset\n${table("f", "")}` }, 0, "table inet f", /^\/etc\/nftables\.conf:7 \S+\/fl\.nft flushes the ruleset/],
    ["includes nested too deep: nft refuses the file", { "@/conf.nft": 'include "@/loop.nft"\n', "@/loop.nft": 'include "@/loop.nft"\n' }, 1, "", /^\S+\/loop\.nft:1 includes nested too deep: nft refuses more than 16 levels$/],
  ])("%s, and the model leaves the firewall unknown", (_what, files, status, listed, doubt) => {
    const r = load(files);
    expect(r.status).toBe(status);
    if (listed) expect(r.listed).toContain(listed);
    else expect(r.listed).toBe("");
    if (listed === "table inet f") expect(r.listed).not.toContain("table inet e");
    const doubts = new Firewalls(r.files).unreadable.map((u) => `${u.file}:${u.line} ${u.why}`);
    expect(doubts).toEqual([expect.stringMatching(doubt)]);
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
    const r = configtest(seed.webserv._hostFiles());
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
    const ok = configtest(g._hostFiles(), ["ssl", "socache_shmcb"]);
    expect(ok.stderr).toContain("Syntax OK");
    expect(ok.status).toBe(0);
    const broken = g._hostFiles().map((f) => (f.path.endsWith("secure.conf") ? { ...f, content: f.content.replace("</VirtualHost>", "") } : f));
    expect(configtest(broken, ["ssl", "socache_shmcb"]).status).not.toBe(0);
  });

  it("an Include in a <VirtualHost> (or in a file it includes) of a file that is not there: apache2ctl -t refuses to start, and the model leaves every socket unknown; IncludeOptional of nothing, or a file that is there, it accepts", () => {
    const there = path.join(tmp.dir, "options-ssl.conf");
    fs.writeFileSync(there, "ServerAdmin webmaster@example.org\n");
    const nested = path.join(tmp.dir, "nested.conf");
    fs.writeFileSync(nested, `Include ${tmp.dir}/gone.conf\n`);
    const site = (body: string) => [
      { path: "/etc/apache2/ports.conf", content: "Listen 192.0.2.10:80\n" },
      { path: "/etc/apache2/sites-available/a.conf", content: `<VirtualHost 192.0.2.10:80>\n    ServerName a.example.org\n    ${body}\n</VirtualHost>\n` },
    ];
    const seen: string[] = [];
    for (const [body, starts] of [[`Include ${there}`, true], [`IncludeOptional ${tmp.dir}/none/*.conf`, true], [`Include ${tmp.dir}/gone.conf`, false], [`Include ${nested}`, false]] as const) {
      const files = site(body);
      const r = configtest(files);
      const model = readApache({ ...Object.fromEntries(files.map((f) => [f.path, f.content])), [there]: fs.readFileSync(there, "utf8"), [nested]: fs.readFileSync(nested, "utf8") })!;
      expect({ body, status: r.status === 0, mayNotStart: model.mayNotStart.length > 0 }).toEqual({ body, status: starts, mayNotStart: !starts });
      seen.push(`${body.split(" ")[0]} ${r.status === 0 ? "starts" : r.stderr.includes("Could not open configuration file") ? "could not open" : r.stderr.trim()}`);
    }
    expect(seen).toEqual(["Include starts", "IncludeOptional starts", "Include could not open", "Include could not open"]);
  });
});

describeWith(["root", "ip", "bash"], "the vif hook, sourced by bash as vif-route does", () => {
  it("sets rp_filter on the vif it is called for: 1, or 2 on a vif named loose; other commands and missing vifs leave it alone", () => {
    const ns = netns("vh");
    const tmp = tempDir();
    try {
      // veth pairs, as the vifs are in the lab (this kernel has no dummy links).
      ["web-0", "web-1", "other-0"].forEach((dev, i) => expect(ns.exec("ip", ["link", "add", dev, "type", "veth", "peer", "name", `peer${i}`]).status).toBe(0));
      const hook = path.join(tmp.dir, "cdktf-xen.hook");
      fs.writeFileSync(hook, renderVifHook(["web-1"]));
      const rp = (dev: string) => ns.exec("cat", [`/proc/sys/net/ipv4/conf/${dev}/rp_filter`]).stdout.trim();
      // vif-route runs with set -e and sources its hooks into its own shell.
      const source = (command: string, dev: string) => ns.exec("bash", ["-euc", `command=${command}; dev=${dev}; . "$0"; echo "rp=\${cdktf_xen_rp:-unset}"`, hook]);
      for (const dev of ["web-0", "web-1", "other-0"]) ns.exec("sysctl", ["-qw", `net.ipv4.conf.${dev}.rp_filter=0`]);
      expect(source("online", "web-0")).toMatchObject({ status: 0, stdout: "rp=1\n" });
      expect(source("add", "web-1")).toMatchObject({ status: 0, stdout: "rp=2\n" });
      expect(source("offline", "other-0")).toMatchObject({ status: 0, stdout: "rp=unset\n" });
      expect(source("online", "gone-0")).toMatchObject({ status: 0, stdout: "rp=unset\n" });
      expect(["web-0", "web-1", "other-0"].map(rp)).toEqual(["1", "2", "0"]);
    } finally {
      ns.remove();
      tmp.remove();
    }
  });
});

describeWith(["sh", "bash", "shellcheck"], "scripts read by sh -n, bash -n and shellcheck", () => {
  const tmp = tempDir();
  afterAll(tmp.remove);
  const scripts = [
    { name: "/usr/local/sbin/cdktf-xen-firewall", shell: "sh", text: () => fileOf(seed.dom0, "/usr/local/sbin/cdktf-xen-firewall") },
    {
      name: "/usr/local/sbin/cdktf-xen-firewall (with ipsets)",
      shell: "sh",
      text: () => renderFirewallScript({ backend: "iptables", sets: true, paths: DOM0_PATHS, stateDir: "/var/lib/cdktf-xen" }),
    },
    { name: "/usr/local/sbin/cdktf-xen-firewall (nftables)", shell: "sh", text: () => renderFirewallScript({ backend: "nftables", paths: DOM0_PATHS, stateDir: "/var/lib/cdktf-xen" }) },
    { name: "/etc/xen/scripts/vif-post.d/cdktf-xen.hook", shell: "bash", text: () => fileOf(seed.dom0, "/etc/xen/scripts/vif-post.d/cdktf-xen.hook") },
  ];
  it.each(scripts)("$name passes $shell -n and shellcheck", ({ text, shell }) => {
    const file = path.join(tmp.dir, "script");
    fs.writeFileSync(file, text());
    expect(run(shell, ["-n", file]).status).toBe(0);
    const sc = run("shellcheck", ["--shell", shell, file]);
    expect(sc.stdout).toBe("");
    expect(sc.status).toBe(0);
  });
});

describeWith(["root", "unshare", "/lib/systemd/systemd-sysctl"], "the model reads sysctl files in the order systemd-sysctl applies them", () => {
  it("the same order as systemd-sysctl --cat-config, over a private /etc/sysctl.d", () => {
    const names = ["60-cdktf-xen.conf", "10-a.conf", "10-Z.conf", "10-A.conf", "10_b.conf", "99-zz.conf", "1-x.conf", "99-sysctl.conf"];
    const files = Object.fromEntries(names.map((n) => [`/etc/sysctl.d/${n}`, `# ${n}\n`]));
    // systemd-sysctl reads the real /etc/sysctl.d: a private mount namespace lays these files over it, for this command only.
    const script = ['mount -t tmpfs cdktf-xen-test /etc/sysctl.d', ...names.map((n) => `printf '# %s\\n' '${n}' > '/etc/sysctl.d/${n}'`), "/lib/systemd/systemd-sysctl --cat-config"].join(" && ");
    const out = sh("unshare", ["-m", "--propagation", "private", "sh", "-c", script]);
    const systemd = out.split("\n").filter((l) => l.startsWith("# /etc/sysctl.d/")).map((l) => l.slice(2));
    expect(systemd.length).toBe(names.length);
    expect(sysctlOrder(files).map(([p]) => p)).toEqual(systemd);
  });
});
