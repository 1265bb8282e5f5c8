/**
 * A guest's interface names, as udev gives them at boot: the naming files the
 * library renders (iftab, udev rules, systemd .link files), and hand-written
 * ones, are put in place of this machine's own in a namespace, a network
 * interface with the vif's MAC appears with the name the kernel gives it, and
 * `udevadm test` names it (ifrename's rule reading iftab, the rules, the .link
 * files: test/support/udev-name.sh). The name must be the one the vif's
 * `device` says, and the one the model reads from the same files.
 */
import * as fs from "fs";
import * as path from "path";
import { TerraformStack, Testing } from "cdktf";
import { RoutedDomU, XenHost } from "../../lib";
import { readNaming } from "../../lib/reachability/naming";
import type { Unreadable } from "../../lib/reachability/outcome";
import { seedReachability } from "../support/seed";
import { describeWith, run, tempDir } from "../support/tools";

/** The MAC every hand-written case asks about, and the name the kernel gives its interface. */
const MAC = "de:ad:be:ef:00:01";
const KERNEL = "eth1";

/** Hand-written naming files, and what udev names the interface with MAC that the kernel named KERNEL. */
const CASES: Record<string, { files: Record<string, string>; udev: string }> = {
  "a udev rule commented out after the one that names the interface": {
    files: { "/etc/udev/rules.d/70-persistent-net.rules": '# PCI device 0x8086:0x100e (e1000)\nSUBSYSTEM=="net", ACTION=="add", ATTR{address}=="de:ad:be:ef:00:01", NAME="eth3"\n# SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="de:ad:be:ef:00:01", NAME="eth7"\n' },
    udev: "eth3",
  },
  "Debian's old persistent-net rule, with its type, dev_id and kernel name matches": {
    files: { "/etc/udev/rules.d/70-persistent-net.rules": 'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="de:ad:be:ef:00:01", ATTR{dev_id}=="0x0", ATTR{type}=="1", KERNEL=="eth*", NAME="lan1"\n' },
    udev: "lan1",
  },
  "a udev rule with the MAC in upper case matches nothing (udev compares the text of sysfs' address)": {
    files: { "/etc/udev/rules.d/70-net.rules": 'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="DE:AD:BE:EF:00:01", NAME="eth3"\n' },
    udev: "eth1",
  },
  "two rules files name the interface: the later file's rule wins": {
    files: { "/etc/udev/rules.d/70-a.rules": 'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="de:ad:be:ef:00:01", NAME="eth3"\n', "/etc/udev/rules.d/71-b.rules": 'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="de:ad:be:ef:00:01", NAME="eth4"\n' },
    udev: "eth4",
  },
  "NAME:= is final: a later rule does not change it": {
    files: { "/etc/udev/rules.d/70-a.rules": 'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="de:ad:be:ef:00:01", NAME:="eth3"\n', "/etc/udev/rules.d/71-b.rules": 'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="de:ad:be:ef:00:01", NAME="eth4"\n' },
    udev: "eth3",
  },
  "a rule for removal does not name an interface that appears": {
    files: { "/etc/udev/rules.d/70-net.rules": 'SUBSYSTEM=="net", ACTION=="remove", ATTR{address}=="de:ad:be:ef:00:01", NAME="eth3"\n' },
    udev: "eth1",
  },
  "a rules file whose name does not end in .rules is not read": {
    files: { "/etc/udev/rules.d/70-net.rules.disabled": 'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="de:ad:be:ef:00:01", NAME="eth3"\n' },
    udev: "eth1",
  },
  "iftab with comments, a line commented out, a MAC in upper case": {
    files: { "/etc/iftab": "# interfaces by MAC\n# eth7 mac de:ad:be:ef:00:01\nlan1 mac DE:AD:BE:EF:00:01 arp 1\n" },
    udev: "lan1",
  },
  "two iftab lines for one MAC: the last": {
    files: { "/etc/iftab": "lan1 mac de:ad:be:ef:00:01\nlan2 mac de:ad:be:ef:00:01\n" },
    udev: "lan2",
  },
  "iftab names the interface before any udev rule does (ifrename's rule sets NAME:=)": {
    files: { "/etc/iftab": "lan1 mac de:ad:be:ef:00:01\n", "/etc/udev/rules.d/70-net.rules": 'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="de:ad:be:ef:00:01", NAME="eth3"\n' },
    udev: "lan1",
  },
  "a rule with NAME:= in a file before ifrename's keeps its name over iftab": {
    files: { "/etc/iftab": "lan1 mac de:ad:be:ef:00:01\n", "/etc/udev/rules.d/10-net.rules": 'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="de:ad:be:ef:00:01", NAME:="eth3"\n' },
    udev: "eth3",
  },
  "an iftab line whose driver does not match names nothing": {
    files: { "/etc/iftab": "lan1 mac de:ad:be:ef:00:01 driver e1000\n" },
    udev: "eth1",
  },
  "a .link file with the MAC in upper case, and a comment": {
    files: { "/etc/systemd/network/10-lan.link": "# pinned\n[Match]\nMACAddress=DE:AD:BE:EF:00:01\n\n[Link]\n#Name=eth9\nName=lan1\n" },
    udev: "lan1",
  },
  "two .link files match: the first by name wins": {
    files: { "/etc/systemd/network/10-a.link": "[Match]\nMACAddress=de:ad:be:ef:00:01\n\n[Link]\nName=lan1\n", "/etc/systemd/network/20-b.link": "[Match]\nMACAddress=de:ad:be:ef:00:01\n\n[Link]\nName=lan2\n" },
    udev: "lan1",
  },
  "a udev rule names the interface before a .link file does": {
    files: { "/etc/systemd/network/10-a.link": "[Match]\nMACAddress=de:ad:be:ef:00:01\n\n[Link]\nName=lan1\n", "/etc/udev/rules.d/70-net.rules": 'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="de:ad:be:ef:00:01", NAME="eth3"\n' },
    udev: "eth3",
  },
  "80-net-setup-link.rules masked in /etc (empty, as a link to /dev/null reads): no .link file names anything": {
    files: { "/etc/udev/rules.d/80-net-setup-link.rules": "", "/etc/systemd/network/10-a.link": "[Match]\nMACAddress=de:ad:be:ef:00:01\n\n[Link]\nName=lan1\n" },
    udev: "eth1",
  },
  "no naming file names the MAC: the kernel's name stays": {
    files: { "/etc/iftab": "lan1 mac de:ad:be:ef:00:09\n" },
    udev: "eth1",
  },
};

/** The name the model reads for `mac`, or the kernel's when no file names it (as the model assumes). */
function modelName(files: Record<string, string>, mac: string, kernel: string): string {
  return readNaming(files).get(mac)?.name ?? kernel;
}

/** A guest of each naming scheme, with the vifs' devices named by hand and by default. */
function renderedGuests(): { scheme: string; files: Record<string, string>; vifs: { mac: string; device: string; index: number }[] }[] {
  const stack = new TerraformStack(Testing.app(), "s");
  const dom0 = new XenHost(stack, "dom0", { ssh: { host: "198.51.100.2" }, uplink: { address: "192.0.2.1/24" } });
  return (["iftab", "udev", "systemd-link"] as const).map((scheme, i) => {
    const guest = new RoutedDomU(dom0, `g${i}`, {
      disks: [],
      interfaceNaming: scheme,
      vifs: [
        { mac: `00:16:3e:00:0${i}:00`, address: `192.0.2.${10 + 3 * i}/24` },
        { mac: `00:16:3e:00:0${i}:01`, address: `192.0.2.${11 + 3 * i}/24`, device: "lan1" },
      ],
    });
    const files: Record<string, string> = {};
    for (const f of guest._hostFiles()) files[f.path] = f.content;
    return { scheme, files, vifs: guest._guestModel().vifs.map((v) => ({ mac: v.mac, device: v.device, index: v.index })) };
  });
}

describe("the model's reading of hand-written naming files (udev's own verdicts, checked below)", () => {
  for (const [title, c] of Object.entries(CASES)) {
    it(title, () => {
      expect(modelName(c.files, MAC, KERNEL)).toBe(c.udev);
    });
  }
});

describe("what the model does not read of naming files is said, and names nothing", () => {
  it("a udev rule with a key it does not read, naming by other than the MAC, a GOTO, or that it cannot parse; an iftab selector; a .link file matching by other than the MAC, or with NamePolicy=", () => {
    const unreadable: Unreadable[] = [];
    const named = readNaming(
      {
        "/etc/udev/rules.d/70-persistent-net.rules": [
          'SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="de:ad:be:ef:00:01", NAME="lan1"',
          'SUBSYSTEM=="net", KERNEL=="eth0", NAME="lan0"',
          'SUBSYSTEM=="net", KERNEL=="eth0", ATTR{address}=="de:ad:be:ef:00:03", NAME="lan3"',
          'SUBSYSTEM=="net", ATTR{address}=="de:ad:be:ef:00:02", NAME="lan%n"',
          "SUBSYSTEM==net, NAME=lan9",
        ].join("\n"),
        "/etc/udev/rules.d/60-skip.rules": 'SUBSYSTEM!="net", GOTO="end"\nLABEL="end"\n',
        "/etc/iftab": "lan4 mac de:ad:be:ef:00:04 driver vif\nlan5 businfo 0000:00:05.0\n",
        "/etc/systemd/network/10-a.link": "[Match]\nOriginalName=eth6\n\n[Link]\nName=lan6\n",
        "/etc/systemd/network/20-b.link": "[Match]\nMACAddress=de:ad:be:ef:00:07\n\n[Link]\nNamePolicy=kernel\nName=lan7\n",
      },
      unreadable,
    );
    expect(named).toEqual(new Map());
    expect(unreadable.map((u) => `${u.file} ${u.line}: ${u.why}`)).toEqual([
      '/etc/iftab 1: the iftab selector driver vif is not read by the model',
      "/etc/iftab 2: an iftab line that names an interface by other than its MAC is not read by the model",
      '/etc/udev/rules.d/60-skip.rules 1: GOTO="end": which rules it skips is not read by the model',
      '/etc/udev/rules.d/70-persistent-net.rules 1: DRIVERS=="?*" is not read by the model',
      "/etc/udev/rules.d/70-persistent-net.rules 2: a udev rule that names an interface by other than its MAC is not read by the model",
      '/etc/udev/rules.d/70-persistent-net.rules 3: KERNEL=="eth0" is not read by the model',
      '/etc/udev/rules.d/70-persistent-net.rules 4: NAME="lan%n" with a substitution is not read by the model',
      "/etc/udev/rules.d/70-persistent-net.rules 5: a udev rule the model cannot read",
      "/etc/systemd/network/10-a.link 0: [Match] OriginalName= is not read by the model",
      "/etc/systemd/network/20-b.link 0: [Link] NamePolicy= (it decides before Name=) is not read by the model",
    ]);
  });

  it("in the model of a guest, such a line leaves the guest's verdicts unknown, naming it", () => {
    const m = seedReachability({ guest: { "/etc/udev/rules.d/70-persistent-net.rules": 'SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="de:ad:be:ef:00:01", NAME="eth1"\n' } });
    const f = m.flow({ from: "203.0.113.9", to: "192.168.0.201", port: 80 });
    expect(f.ok).toBe(false);
    expect(f.summary).toContain('the model cannot read /etc/udev/rules.d/70-persistent-net.rules line 1 "SUBSYSTEM==\\"net\\", ACTION==\\"add\\", DRIVERS==\\"?*\\", ATTR{address}==\\"de:ad:be:ef:00:01\\", NAME=\\"eth1\\"": DRIVERS=="?*" is not read by the model');
  });
});

describeWith(["udevadm", "ifrename", "unshare", "root"], "a guest's interface names, as udev gives them at boot", () => {
  const tmp = tempDir("cdktf-xen-naming-");
  afterAll(tmp.remove);
  let n = 0;

  /** What udev names an interface with `mac` that the kernel named `kernel`, with `files` in place of this machine's naming files. */
  function udevName(files: Record<string, string>, mac: string, kernel: string): string {
    const root = path.join(tmp.dir, `root${n++}`);
    for (const [p, content] of Object.entries(files)) {
      fs.mkdirSync(path.join(root, path.dirname(p)), { recursive: true });
      fs.writeFileSync(path.join(root, p), content);
    }
    const r = run("unshare", ["-m", "-n", "sh", path.join(__dirname, "../support/udev-name.sh"), root, mac, kernel]);
    if (r.status !== 0) throw new Error(`udev-name.sh failed (status ${r.status}): ${r.stderr}`);
    return r.stdout.trim();
  }

  for (const { scheme, files, vifs } of renderedGuests()) {
    it(`the library's ${scheme} files: each vif's interface gets its device's name, and the model reads the same`, () => {
      const named = vifs.map((v) => ({ mac: v.mac, udev: udevName(files, v.mac, `eth${v.index}`), model: modelName(files, v.mac, `eth${v.index}`) }));
      expect(named).toEqual(vifs.map((v) => ({ mac: v.mac, udev: v.device, model: v.device })));
      // Renamed for real: the second vif's device is not a name the kernel gives.
      expect(named[1].udev).toBe("lan1");
    });
  }

  for (const [title, c] of Object.entries(CASES)) {
    it(`hand-written: ${title}`, () => {
      expect(udevName(c.files, MAC, KERNEL)).toBe(c.udev);
    });
  }
});
