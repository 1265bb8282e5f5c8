/**
 * systemd's enablement of the units that load a firewall at boot, in a copy
 * of a host: the real systemctl enables, disables and masks Debian's own
 * nftables.service and netfilter-persistent.service in a copy's root, and
 * the model's reading of the links must agree with `systemctl is-enabled`.
 * Debian's units are read too: they set no order between the two, which the
 * model's doubt (nftables.conf flushing iptables' rules) rests on.
 */
import * as fs from "fs";
import * as path from "path";
import { readHostCopy } from "../../lib/adopt/host-copy";
import { bootStart, FIREWALL_UNITS } from "../../lib/reachability/boot-units";
import { describeWith, run, tempDir } from "../support/tools";

const UNIT_DIR = "/lib/systemd/system";

/** The keys of a unit file's section, each with its values (space-separated lists joined). */
function section(text: string, name: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let inside = false;
  for (const line of text.split("\n")) {
    const head = /^\[(.+)\]\s*$/.exec(line);
    if (head) inside = head[1] === name;
    else if (inside) {
      const kv = /^(\w+)=(.*)$/.exec(line);
      if (kv) (out[kv[1]] ??= []).push(...kv[2].split(/\s+/).filter(Boolean));
    }
  }
  return out;
}

describeWith(["systemctl", ...FIREWALL_UNITS.map((u) => `${UNIT_DIR}/${u}`)], "which firewall units start at boot: the model reads the links systemctl writes as systemctl does", () => {
  let tmp: ReturnType<typeof tempDir>;
  let root: string;
  beforeAll(() => {
    tmp = tempDir("cdktf-xen-units-");
    root = path.join(tmp.dir, "dom0");
    fs.mkdirSync(path.join(root, UNIT_DIR), { recursive: true });
    fs.mkdirSync(path.join(root, "etc", "systemd", "system"), { recursive: true });
    for (const u of FIREWALL_UNITS) fs.copyFileSync(path.join(UNIT_DIR, u), path.join(root, UNIT_DIR, u));
  });
  afterAll(() => tmp.remove());

  const systemctl = (...args: string[]) => run("systemctl", [`--root=${root}`, ...args]);

  it("Debian's units name no order between the two, and each is wanted by a target every boot reaches", () => {
    const [persistent, nftables] = FIREWALL_UNITS.map((u) => fs.readFileSync(path.join(UNIT_DIR, u), "utf8"));
    const order = (text: string) => ["After", "Before", "Requires", "Wants", "Requisite", "BindsTo"].flatMap((k) => section(text, "Unit")[k] ?? []);
    expect(order(persistent).filter((u) => u.startsWith("nftables"))).toEqual([]);
    expect(order(nftables).filter((u) => u.startsWith("netfilter-persistent"))).toEqual([]);
    // Each runs before the network comes up, and neither waits for the other.
    expect([section(persistent, "Unit").Before, section(nftables, "Unit").Before]).toEqual([expect.arrayContaining(["network-pre.target"]), expect.arrayContaining(["network-pre.target"])]);
    expect([section(persistent, "Install").WantedBy, section(nftables, "Install").WantedBy]).toEqual([["multi-user.target"], ["sysinit.target"]]);
  });

  it("enabled, masked, disabled: what systemctl is-enabled says, the model reads from the copy's links", () => {
    const states: [string, string[][]][] = [
      ["both enabled", [["enable", ...FIREWALL_UNITS]]],
      ["nftables masked", [["mask", "nftables.service"]]],
      ["nftables unmasked, netfilter-persistent disabled", [["unmask", "nftables.service"], ["disable", "netfilter-persistent.service"]]],
    ];
    const seen: string[] = [];
    for (const [what, commands] of states) {
      for (const c of commands) expect({ what, c, status: systemctl(...c).status }).toEqual({ what, c, status: 0 });
      const copy = readHostCopy(tmp.dir, "dom0");
      expect(copy.problems).toEqual([]);
      for (const unit of FIREWALL_UNITS) {
        const says = systemctl("is-enabled", unit).stdout.trim();
        const start = bootStart(copy.files, unit);
        expect({ what, unit, starts: start && "starts" in start ? start.starts : start }).toEqual({ what, unit, starts: says === "enabled" });
        seen.push(`${what}: ${unit} ${says}`);
      }
    }
    // Not a comparison that holds either way: each state was reached.
    expect(seen).toEqual([
      "both enabled: netfilter-persistent.service enabled",
      "both enabled: nftables.service enabled",
      "nftables masked: netfilter-persistent.service enabled",
      "nftables masked: nftables.service masked",
      "nftables unmasked, netfilter-persistent disabled: netfilter-persistent.service disabled",
      "nftables unmasked, netfilter-persistent disabled: nftables.service enabled",
    ]);
  });
});
