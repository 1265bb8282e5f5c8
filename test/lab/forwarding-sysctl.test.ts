/**
 * The dom0's forwarding, as its sysctl file sets it, the model's reading
 * against the kernel's: `net.ipv4.conf.all.forwarding` is `ip_forward` (the
 * kernel keeps one setting), and an interface whose own `forwarding` is 0
 * forwards nothing it receives, which is why the model, which does not keep
 * forwarding per interface, leaves such a file's verdicts open. Each file is
 * applied with `sysctl -p` in the dom0 of test/support/forwarding.ts's
 * namespaces (forwarding off first); the dom0 filters nothing.
 */
import * as fs from "fs";
import * as path from "path";
import { CLIENT, forwarding, GUEST, NET } from "../support/forwarding";
import { seedFiles, seedReachability } from "../support/seed";
import { describeWith, tempDir } from "../support/tools";

const ACCEPTS = "table inet t {\n  chain forward {\n    type filter hook forward priority filter; policy accept;\n  }\n}\n";

describeWith(["root", "ip", "nft", "curl", "sysctl"], "the dom0's forwarding settings: the model agrees with the kernel", () => {
  it("all.forwarding forwards as ip_forward does; one interface's forwarding at 0 stops what it receives, and the model does not say it passes", () => {
    const seed = seedFiles({}, NET).dom0["/etc/sysctl.d/60-cdktf-xen.conf"];
    const without = seed.replace("net.ipv4.ip_forward = 1\n", "");
    expect(without).not.toBe(seed);
    const cases: Record<string, string> = {
      "ip_forward = 1": seed,
      "neither": without,
      "all.forwarding = 1": `${without}net.ipv4.conf.all.forwarding = 1\n`,
      "ip_forward = 1, then all.forwarding = 0": `${seed}net.ipv4.conf.all.forwarding = 0\n`,
      "all.forwarding = 1, the vif's own forwarding 0": `${without}net.ipv4.conf.all.forwarding = 1\nnet.ipv4.conf.webserv-0.forwarding = 0\n`,
    };
    const lab = forwarding("fs");
    const t = tempDir("cdktf-xen-sysctl-");
    try {
      expect(lab.dom0.exec("nft", ["-f", "-"], ACCEPTS).status).toBe(0);
      const kernel: Record<string, boolean> = {};
      const model: Record<string, boolean> = {};
      for (const [title, text] of Object.entries(cases)) {
        lab.dom0.sh("sysctl", "-qw", "net.ipv4.ip_forward=0");
        const file = path.join(t.dir, "60-cdktf-xen.conf");
        // The seed's file names eth0's proxy_arp too, and the uplink here is eth0: every line applies.
        fs.writeFileSync(file, text);
        const applied = lab.dom0.exec("sysctl", ["-q", "-p", file]);
        expect([title, applied.status, applied.stderr]).toEqual([title, 0, ""]);
        kernel[title] = lab.answered(GUEST);
        const m = seedReachability({ dom0: { "/etc/iptables/rules.v4": undefined, "/etc/iptables/rules.v6": undefined, "/etc/cdktf-xen/firewall.nft": ACCEPTS, "/etc/sysctl.d/60-cdktf-xen.conf": text } }, NET);
        const v = m.flow({ from: CLIENT, to: GUEST, port: 80 });
        model[title] = v.ok;
        // Where the model answers, it is the kernel's answer; where a line leaves it open, it says unknown, not a pass.
        if (title.includes("own forwarding")) expect([title, v.forward, v.reply]).toEqual([title, "unknown", "unknown"]);
      }
      expect(model).toEqual(kernel);
      expect(Object.values(kernel)).toEqual([true, false, true, false, false]);
    } finally {
      t.remove();
      lab.remove();
    }
  }, 60000);
});
