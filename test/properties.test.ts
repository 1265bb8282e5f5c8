/**
 * Properties over generated input (fast-check): any bytes travel through a
 * real step script byte-exact; any string in any string prop is either
 * refused at synth or lands in the files as inert text; the iptables ruleset
 * through ipsets accepts exactly what the one-rule-per-address ruleset does.
 */
import * as fs from "fs";
import * as path from "path";
import fc from "fast-check";
import { App, TerraformStack } from "cdktf";
import { ForwardRule, RoutedDomU, WebVhost, XenHost } from "../lib";
import { XenPropError } from "../lib/testing";
import { renderStepScript } from "../lib/deploy/step";
import type { FirewallModel } from "../lib/model";
import { renderIptablesRules } from "../lib/render/iptables";
import { renderIpsets } from "../lib/render/ipset";
import { SandboxHost } from "../lib/lab/sandbox-host";
import { describeWith, tempDir, sandboxHost } from "./support/tools";

describeWith(["root", "nsenter", "unshare", "base64"], "property: any bytes travel through a real step script and land byte-exact", () => {
  let host: SandboxHost;
  beforeAll(() => {
    host = sandboxHost("pb");
  });
  afterAll(() => host?.destroy());

  it("10,000 generated file contents, every byte value among them", () => {
    const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i);
    let run = 0;
    let cases = 0;
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 700 }), { minLength: 100, maxLength: 100 }), (contents) => {
        run += 1;
        const dir = `/var/tmp/cdktf-xen-prop/r${run}`;
        const files = contents.map((content, i) => ({ path: `${dir}/f${i}`, mode: "0600", content }));
        const r = host.runScript(renderStepScript({ host: "prop", concern: "bytes", files, validate: "", activate: "" }));
        if (r.status !== 0) throw new Error(r.stderr);
        contents.forEach((content, i) => {
          // Read from the host's own layer: what the script wrote, as bytes.
          const landed = fs.readFileSync(path.join(host.root, "upper", "var", "tmp", "cdktf-xen-prop", `r${run}`, `f${i}`));
          expect(Buffer.compare(landed, Buffer.from(content))).toBe(0);
        });
        cases += contents.length;
      }),
      { numRuns: 100, examples: [[[everyByte, everyByte.slice().reverse(), new Uint8Array(0), ...Array.from({ length: 97 }, (_, i) => Uint8Array.of(i, 10, 0, 39, 34))]]] },
    );
    expect(cases).toBeGreaterThanOrEqual(10000);
  }, 5 * 60 * 1000);
});

/** The string props of every construct, each set on a small but complete tree. */
interface Knobs {
  serverName?: string; serverAlias?: string; documentRoot?: string; certificateFile?: string; vhostName?: string;
  guestName?: string; vifname?: string; device?: string; disk?: string; kernel?: string; root?: string; extra?: string;
  bootloader?: string; uplinkDevice?: string; sshHost?: string; sshUser?: string; gateway?: string; address?: string;
  mac?: string; managementCidr?: string; ruleTo?: string; ruleFrom?: string;
}
const KNOBS: (keyof Knobs)[] = [
  "serverName", "serverAlias", "documentRoot", "certificateFile", "vhostName", "guestName", "vifname", "device", "disk", "kernel",
  "root", "extra", "bootloader", "uplinkDevice", "sshHost", "sshUser", "gateway", "address", "mac", "managementCidr", "ruleTo", "ruleFrom",
];

function build(k: Knobs, outdir: string): { app: App; hosts: (XenHost | RoutedDomU)[] } {
  const app = new App({ outdir });
  const stack = new TerraformStack(app, "s");
  const dom0 = new XenHost(stack, "dom0", {
    ssh: { host: k.sshHost ?? "198.51.100.2", user: k.sshUser ?? "root" },
    uplink: { device: k.uplinkDevice ?? "eth0", address: "192.0.2.1/24" },
    firewall: { managementCidrs: [k.managementCidr ?? "198.51.100.0/24"] },
  });
  const direct = k.kernel !== undefined || k.root !== undefined || k.extra !== undefined;
  const guest = new RoutedDomU(dom0, "g", {
    name: k.guestName ?? "web",
    disks: [k.disk ?? "phy:/dev/vg0/web,xvda,w"],
    ...(direct ? { kernel: k.kernel ?? "/boot/vmlinuz", root: k.root ?? "/dev/xvda1 ro", extra: k.extra ?? "console=hvc0" } : { bootloader: k.bootloader ?? "pygrub" }),
    gateway: k.gateway ?? "192.0.2.1",
    vifs: [
      { mac: k.mac ?? "00:16:3e:00:00:01", address: k.address ?? "192.0.2.10/24", vifname: k.vifname ?? "web-0", device: k.device ?? "eth0" },
      { mac: "00:16:3e:00:00:02", address: "192.0.2.11/24" },
    ],
  });
  new WebVhost(guest, "site", {
    name: k.vhostName ?? "site",
    address: "192.0.2.11",
    serverName: k.serverName ?? "a.example.org",
    serverAliases: [k.serverAlias ?? "www.example.org"],
    documentRoot: k.documentRoot ?? "/var/www/a",
    tls: { certificateFile: k.certificateFile ?? "/etc/ssl/a.pem", certificateKeyFile: "/etc/ssl/a.key" },
  });
  new ForwardRule(dom0, "r", { to: k.ruleTo ?? "192.0.2.11", ports: [80, 443], from: [k.ruleFrom ?? "0.0.0.0/0"] });
  return { app, hosts: [dom0, guest] };
}

/** Every file and every step script, as text. */
function rendered(hosts: (XenHost | RoutedDomU)[]): string[] {
  return hosts.flatMap((h) => [...h._hostFiles().map((f) => f.content), ...h._deploySteps().map((s) => renderStepScript(s))]);
}

/** What may never reach a file from a prop: anything that ends a line, a quote or a word of shell. */
const NOT_INERT = /[\u0000-\u001f\u007f-\u009f\u2028\u2029'"`\\$;&|<>(){}#]/;
/** Props rendered inside a quoted xl string, where a space is part of the value (`format=raw, vdev=xvda`). */
const QUOTED: (keyof Knobs)[] = ["disk", "root", "extra"];
const hostile = fc.oneof(
  fc.string({ unit: "binary", maxLength: 30 }),
  fc
    .array(
      fc.constantFrom("a", "web", "example.org", "/srv", "/", ".", "..", "-", "0", "192.0.2.", "/24", ":", "=", ",", "*", "%", "@",
        "\n", "\r", "\u0000", "\t", " ", "$(", ")", "`", ";", "&", "|", "'", '"', "\\", "#", "<", ">", "{", "}", "\u001b", "\u2028",
        "é", "Include /etc/shadow", "reboot", "\nvif = [ 'x' ]", "';id;'"),
      { maxLength: 8 },
    )
    .map((parts) => parts.join("")),
);

describe("property: any string in any string prop is refused at synth or lands as inert text", () => {
  const out = tempDir();
  afterAll(out.remove);
  const lines = (k: Knobs) => rendered(build(k, path.join(out.dir, "base")).hosts).map((t) => t.split("\n").length);
  // Direct boot (kernel, root, extra) renders other cfg lines than a bootloader: one baseline each.
  const DIRECT: (keyof Knobs)[] = ["kernel", "root", "extra"];
  const baselines = { bootloader: lines({}), direct: lines({ kernel: "/boot/vmlinuz" }) };

  it(`${KNOBS.length} props x 500 generated strings`, () => {
    let cases = 0;
    let accepted = 0;
    for (const knob of KNOBS) {
      fc.assert(
        fc.property(hostile, (value) => {
          cases += 1;
          let tree: ReturnType<typeof build>;
          try {
            tree = build({ [knob]: value }, path.join(out.dir, "x"));
          } catch (e) {
            if (e instanceof XenPropError) return;
            throw e;
          }
          if (tree.app.node.findAll().some((c) => c.node.validate().length > 0)) return;
          accepted += 1;
          // Accepted: inert characters only, and not one line more or less anywhere.
          const inert = !NOT_INERT.test(value) && (QUOTED.includes(knob) || !/\s/.test(value));
          expect({ knob, value, inert }).toEqual({ knob, value, inert: true });
          const baseline = DIRECT.includes(knob) ? baselines.direct : baselines.bootloader;
          expect({ knob, value, lines: rendered(tree.hosts).map((t) => t.split("\n").length) }).toEqual({ knob, value, lines: baseline });
        }),
        { numRuns: 500 },
      );
    }
    expect(cases).toBeGreaterThanOrEqual(10000);
    expect(accepted).toBeGreaterThan(0);
  }, 10 * 60 * 1000);
});

describe("property: through ipsets, the iptables ruleset accepts exactly what one rule per address does", () => {
  /** What a FORWARD ruleset accepts, as (source, address, vif, direction, protocol and ports) tuples. */
  function accepted(rules: string, sets: string): string[] {
    const members = new Map<string, string[]>();
    for (const [, name, member] of sets.matchAll(/^add (\S+) (\S+)$/gm)) members.set(name, [...(members.get(name) ?? []), member]);
    const out: string[] = [];
    for (const line of rules.split("\n").filter((l) => l.startsWith("-A FORWARD") && !l.includes("conntrack"))) {
      const source = /-s (\S+)/.exec(line)?.[1] ?? "any";
      const set = / -m set --match-set (\S+) (dst,dst|src,src)/.exec(line);
      const guests = set
        ? members.get(set[1])!.map((m) => ({ address: m.split(",")[0], vif: m.split(",")[1], dir: set[2] === "dst,dst" ? "to" : "from" }))
        : [{ address: /-d (\S+)\/32/.exec(line)?.[1] ?? /-s (\S+)\/32/.exec(line)![1], vif: /-[oi] (\S+)/.exec(line)![1], dir: / -o /.test(line) ? "to" : "from" }];
      const rest = line.replace(/^-A FORWARD( -s \S+)?( -d \S+)?( -[oi] \S+)?/, "").replace(/ -m set --match-set \S+ \S+/, "");
      for (const g of guests) out.push(`${g.dir === "from" ? "-" : source} ${g.dir} ${g.address} ${g.vif}${rest}`);
    }
    return out.sort();
  }

  const address = fc.integer({ min: 1, max: 30 }).map((i) => `192.0.2.${i}`);
  const range = fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 3 })).map(([from, span]) => ({ from: Math.min(from, 65535 - span), to: Math.min(from, 65535 - span) + span }));
  const firewall: fc.Arbitrary<FirewallModel> = fc.record({
    forwardPolicy: fc.constant("DROP" as const),
    inputPolicy: fc.constant("DROP" as const),
    managementCidrs: fc.constant(["203.0.113.0/24"]),
    sshPort: fc.constant(22),
    accepts: fc.array(
      fc.record({
        address,
        vifname: fc.integer({ min: 0, max: 3 }).map((i) => `g${i}-0`),
        protocol: fc.constantFrom("tcp" as const, "udp" as const),
        source: fc.constantFrom("0.0.0.0/0", "198.51.100.0/24"),
        ports: fc.array(range, { minLength: 1, maxLength: 12 }),
        sourcePorts: fc.array(range, { maxLength: 2 }),
      }),
      { maxLength: 40 },
    ),
    egress: fc.array(fc.record({ address, vifname: fc.constantFrom("g0-0", "g1-0") }), { maxLength: 5 }),
  });

  it("2,000 generated firewalls", () => {
    fc.assert(
      fc.property(firewall, (fw) => {
        const perAddress = accepted(renderIptablesRules(fw), "");
        const throughSets = accepted(renderIptablesRules(fw, { sets: true }), renderIpsets(fw));
        expect(new Set(throughSets)).toEqual(new Set(perAddress));
        // Every set a rule names is created, once.
        const created = [...renderIpsets(fw).matchAll(/^create (\S+) /gm)].map((m) => m[1]);
        expect(new Set(created).size).toBe(created.length);
        for (const [, name] of renderIptablesRules(fw, { sets: true }).matchAll(/--match-set (\S+)/g)) expect(created).toContain(name);
      }),
      { numRuns: 2000 },
    );
  });
});
