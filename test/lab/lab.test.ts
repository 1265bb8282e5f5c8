/**
 * The lab, for real: sandbox dom0s and guests, cdktf deploy with Terraform,
 * probes from a client on the uplink. Needs root and the packages of .ci/run.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { diffStack } from "../../lib/adopt/diff";
import { doctor } from "../../lib/adopt/doctor";
import { portPieces, portRangesText } from "../../lib/adopt/firewall-names";
import { importStack } from "../../lib/adopt/import";
import { labHostKey } from "../../lib/lab/hosts";
import { LAB_RECORDS, removeDeadRuns } from "../../lib/lab/leftovers";
import { running } from "../../lib/lab/processes";
import { SandboxHost } from "../../lib/lab/sandbox-host";
import { Lab, ProbeResult, runLab, Scenario, SCENARIO_KEY, scenarioLab, VARIANT_KEY } from "../../lib/lab";
import { packageRoot, scenarioAppCommand } from "../../lib/lab/run";
import { renderInterfaces } from "../../lib/render/interfaces";
import { meaning, sockets, synthImported } from "../support/imported";
import { AllPortsEdit, allPortsEdit, CopyFile, HAND_EDITS, HandEdit } from "../support/restricted";
import { describeWith, LAB_NEEDS, run } from "../support/tools";

const MINUTES = 60 * 1000;

/** A lab for the suite: built before its tests, its report printed and everything removed after. */
function useLab(scenario: Scenario): () => Lab {
  let lab: Lab | undefined;
  beforeAll(() => {
    lab = scenarioLab(scenario);
  }, 2 * MINUTES);
  afterAll(() => {
    if (lab) process.stdout.write(`${lab.report()}\n`);
    lab?.destroy();
  });
  return () => {
    if (!lab) throw new Error("the lab was not built");
    return lab;
  };
}

/**
 * A copy of the lab's seed hosts as a user makes one of theirs: their /etc (and the deploy's state),
 * as `rsync -a <host>:/etc` gives it, and what each runs now beside it, as the README's table says.
 */
function copyOfSeedHosts(lab: Lab): string {
  const copy = fs.mkdtempSync(path.join(lab.workdir, "copy-"));
  for (const [name, host] of [["dom0", lab.dom0Host("dom0")!], ["webserv", lab.guestHost("dom0", "webserv")!]] as const) {
    const packed = host.sh("tar -C / -cf - etc var/lib/cdktf-xen 2>/dev/null | base64 -w0");
    fs.mkdirSync(path.join(copy, name));
    const unpacked = run("sh", ["-c", 'base64 -d | tar -C "$1" -xf -', "sh", path.join(copy, name)], { input: packed.stdout });
    if (unpacked.stderr) throw new Error(`copy of ${name}: ${unpacked.stderr}`);
    const state = `${path.join(copy, name)}.state`;
    fs.mkdirSync(state);
    const captures: [string, string][] = [["sysctl", "sysctl -a 2>/dev/null"], ["ip-addr", "ip -4 -o addr show"], ["ip-route", "ip -4 route show table all"], ["ip-rule", "ip -4 rule show"]];
    if (name === "dom0") captures.push(["iptables-save", "iptables-save"]);
    for (const [file, command] of captures) fs.writeFileSync(path.join(state, file), host.sh(command).stdout);
  }
  return copy;
}

function failures(probes: readonly ProbeResult[]): string[] {
  return probes.filter((p) => !p.ok).map((p) => `${p.phase}: ${p.kind} ${p.target}: expected ${p.expect}, saw ${p.detail}`);
}

describeWith(LAB_NEEDS, "lab: the seed scenario (one guest, three addresses, three sites)", () => {
  const theLab = useLab("seed");

  it("deploys with real Terraform, and every vhost answers on each address:port with its own page", async () => {
    const lab = theLab();
    // Scripts a deploy could have left on the machine itself, outside the lab's hosts.
    const machineScripts = () => [...fs.readdirSync("/tmp").filter((f) => f.startsWith("terraform_")), ...fs.readdirSync("/root").filter((f) => f.startsWith(".cdktf-xen-"))];
    const before = machineScripts();
    const deploy = await lab.deploy();
    expect({ ok: deploy.ok, summary: deploy.summary, tail: deploy.ok ? "" : deploy.tail }).toEqual({
      ok: true,
      summary: "Apply complete! Resources: 11 added, 0 changed, 0 destroyed.",
      tail: "",
    });
    // The check after deploy asked every vhost socket from the dom0, each page its own.
    expect(deploy.output.match(/\(remote-exec\): (ok|FAIL) .*/g)?.map((l) => l.replace(/^\(remote-exec\): /, "")).sort()).toEqual(
      ["a", "b", "c"].flatMap((s, i) => [`ok   vhost site-${s} (${s}.example.org) on 192.0.2.20${i}:443: HTTP 200`, `ok   vhost site-${s} (${s}.example.org) on 192.0.2.20${i}:80: HTTP 200`]).sort(),
    );
    expect(deploy.output).toContain("every vhost socket answers from the dom0 (6)");
    // Every connection checks the dom0's host key: its own steps', and the guest's through it as bastion.
    const tf = JSON.parse(fs.readFileSync(path.join(lab.workdir, "cdktf.out", "stacks", lab.options.stack, "cdk.tf.json"), "utf8"));
    const pinned = Object.values<{ connection: Record<string, string> }>(tf.resource.terraform_data).map((r) => r.connection.bastion_host_key ?? r.connection.host_key);
    expect(new Set(pinned)).toEqual(new Set([fs.readFileSync(`${labHostKey(lab.workdir, "dom0", "dom0")}.pub`, "utf8").trim()]));
    // remote-exec's scripts went to root's home on each host (the sandbox's own), not to the machine's /tmp.
    expect(machineScripts()).toEqual(before);
    expect(lab.dom0Host("dom0")!.sh("ls -a /root").stdout).toMatch(/^\.cdktf-xen-\d+\.sh$/m);
    const probes = lab.probeAll("after deploy");
    expect(failures(probes)).toEqual([]);
    // Each socket from the uplink's subnet and from behind the uplink's router.
    expect(probes.filter((p) => p.kind === "http" || p.kind === "https")).toHaveLength(12);
    expect(probes.filter((p) => p.kind === "tcp-dropped").map((p) => p.target)).toEqual(["192.0.2.200:22"]);
  }, 10 * MINUTES);

  it("negative control: the seed's hand-made guest network black-holes every address but the first", () => {
    const lab = theLab();
    const { handMade, restored } = lab.negativeControl();
    const answered = handMade.filter((p) => p.detail.startsWith("HTTP 200")).map((p) => p.target);
    const timedOut = handMade.filter((p) => p.detail.includes("timeout")).map((p) => p.target);
    const bothClients = (targets: string[]) => [...targets, ...targets.map((t) => `${t} from 203.0.113.77`)];
    expect(answered).toEqual(bothClients(["192.0.2.200:80 Host a.example.org", "192.0.2.200:443 Host a.example.org"]));
    expect(timedOut).toEqual(
      bothClients(["192.0.2.201:80 Host b.example.org", "192.0.2.201:443 Host b.example.org", "192.0.2.202:80 Host c.example.org", "192.0.2.202:443 Host c.example.org"]),
    );
    expect(failures(restored)).toEqual([]);
    expect(restored).toHaveLength(12);
    // The reachability model, reading the files on the hosts, said what the kernel did on every probe: the black holes too.
    expect(lab.modelMismatches).toEqual([]);
    expect(lab.report()).toContain("the reachability model agreed with the kernel on all 37 probes");
  }, 5 * MINUTES);

  it("the cross-check fails when the model and the kernel disagree: the hand-made file written, the network left as deployed", () => {
    const lab = theLab();
    const host = lab.guestHost("dom0", "webserv")!;
    const deployed = host.readFile("/etc/network/interfaces")!;
    const before = lab.modelMismatches.length;
    host.writeFile("/etc/network/interfaces", renderInterfaces({ ...lab.stackTopology.dom0s[0].guests[0].model, policyRouting: false }));
    try {
      expect(failures(lab.probeAll("files changed, network not"))).toEqual([]);
      const sockets = ["192.0.2.201:80 Host b.example.org", "192.0.2.201:443 Host b.example.org", "192.0.2.202:80 Host c.example.org", "192.0.2.202:443 Host c.example.org"];
      expect(lab.modelMismatches.slice(before).map((m) => m.replace(/: tcp .*$/, ""))).toEqual(
        [...sockets, ...sockets.map((t) => `${t} from 203.0.113.77`)].map(
          (t) => `files changed, network not: ${/:80 /.test(t) ? "http" : "https"} ${t}: the kernel: answered (HTTP 200: ${JSON.stringify(`cdktf-xen lab: site-${t.includes("b.example") ? "b" : "c"}\n`)}); the model: no answer`,
        ),
      );
    } finally {
      host.writeFile("/etc/network/interfaces", deployed);
      lab.modelMismatches.splice(before);
    }
  }, 5 * MINUTES);

  it("a redeploy without changes changes nothing", async () => {
    const lab = theLab();
    const again = await lab.deploy();
    expect(again.ok).toBe(true);
    expect([again.added, again.changed, again.destroyed]).toEqual([0, 0, 0]);
    expect(lab.plan().exitCode).toBe(0);
  }, 5 * MINUTES);

  it("a phase that would move the dom0's sshd is refused before it deploys (the two-guest scenario's dom0 listens on 2222), and changes nothing", async () => {
    const lab = theLab();
    await expect(lab.deploy({ context: { [SCENARIO_KEY]: "two-guests" } })).rejects.toThrow(
      "the new context changes the stack's dom0s, their uplinks or their sshd ports (dom0 eth0 192.0.2.1/24 sshd 22, now dom0 eth0 192.0.2.1/24 sshd 2222)",
    );
    expect(lab.plan().exitCode).toBe(0);
  }, 5 * MINUTES);

  it("cdktf-xen diff over SSH: no change after the deploy; a hand edit and a change not yet deployed show as unified diffs; no file on any host changes", () => {
    const lab = theLab();
    const stackDir = path.join(lab.workdir, "cdktf.out", "stacks", lab.options.stack);
    const hosts = [lab.dom0Host("dom0")!, lab.guestHost("dom0", "webserv")!];
    // Everything each host has written since it was made (its overlays' upper layers: files, links, modes,
    // deletions), by checksum: a write of the diff's would show there. sshd's login records (wtmp, lastlog,
    // btmp) change with any login and are left out.
    const tree = () =>
      hosts.map(
        (h) =>
          run("sh", ["-c", `cd "$1" && find . ! -name wtmp ! -name lastlog ! -name btmp -printf '%y %m %p\\n' | sort && find . -type f ! -name wtmp ! -name lastlog ! -name btmp -print0 | sort -z | xargs -0 sha256sum`, "sh", path.join(h.root, "upper")]).stdout,
      );
    const before = tree();
    expect(before[0]).toContain("./etc/xen/webserv.cfg");
    expect(before[1]).toContain("./etc/apache2/sites-available/site-b.conf");
    const clean = diffStack(stackDir);
    expect(clean.text).toBe("== dom0 (root@198.51.100.2): no change\n\n== webserv (root@192.0.2.200): no change\n\n2 hosts: no change\n");
    expect(clean.exitCode).toBe(0);
    expect(tree()).toEqual(before);

    const site = "/etc/apache2/sites-available/site-b.conf";
    const guest = hosts[1];
    const deployed = guest.readFile(site)!;
    guest.writeFile(site, deployed.replace("    ServerName b.example.org\n", "    ServerName b.example.org\n    # edited by hand\n"));
    try {
      const edited = tree();
      const drift = diffStack(stackDir);
      expect(drift.exitCode).toBe(2);
      expect(drift.hosts.map((h) => h.text.split("\n")[0])).toEqual(["== dom0 (root@198.51.100.2): no change", "== webserv (root@192.0.2.200): 1 changed, 0 new, 0 removed"]);
      expect(drift.hosts[1].text).toContain(`--- webserv:${site} (on the host)\n+++ webserv:${site} (the deploy)\n@@ -1,7 +1,6 @@\n`);
      expect(drift.hosts[1].text).toContain("\n     ServerName b.example.org\n-    # edited by hand\n");
      expect(tree()).toEqual(edited);
    } finally {
      guest.writeFile(site, deployed);
    }
    // A change in the code, synthesized and not deployed: what the deploy would write.
    const pending = diffStack(lab.synthesize({ [VARIANT_KEY]: "changed" }));
    expect(pending.exitCode).toBe(2);
    expect(pending.hosts[1].text).toContain("     ServerAlias www.b.example.org\n+    ServerAlias bee.example.org\n");
    expect(pending.text.trimEnd().split("\n").pop()).toBe("2 hosts: 1 file changed, 0 new, 0 removed");
    expect(tree()).toEqual(before);
  }, 5 * MINUTES);

  it("cdktf-xen import from a copy of the deployed hosts' /etc: synthesized again, the same addresses, MACs, vifs, vhosts (TLS too) and ports, and the doctor finds both answering", () => {
    const lab = theLab();
    const copy = copyOfSeedHosts(lab);
    const uplink = "eth0=192.0.2.1/24";
    // Who reaches the dom0 itself, as the kernel filters it: sshd from the management network the far client is in, and
    // nothing else; the model reads the same of the loaded ruleset.
    const dom0Probes = lab.probeDom0("dom0", [
      { protocol: "tcp", port: 22, far: true, open: true },
      { protocol: "tcp", port: 22, open: false },
      { protocol: "tcp", port: 8080, far: true, open: false },
      { protocol: "udp", port: 161, far: true, open: false },
    ], "the dom0 itself");
    expect(failures(dom0Probes)).toEqual([]);
    expect(lab.modelMismatches).toEqual([]);
    const { code } = importStack(copy, "dom0", { uplink, stack: "again" });
    // Read through the model from the kernel's listing: the stack's management network and the lab's own.
    expect(code).toContain('  firewall: { managementCidrs: ["198.51.100.0/24", "203.0.113.0/24"] },');
    expect(code).toContain("  tls: { certificateFile: \"/etc/ssl/cdktf-xen-lab/cert.pem\", certificateKeyFile: \"/etc/ssl/cdktf-xen-lab/key.pem\" },");
    const again = synthImported(code, path.join(copy, "out"), "again");
    expect(meaning(again, "dom0")).toEqual(meaning(copy, "dom0"));
    const deployed = doctor(copy, "dom0", { uplink });
    // The doctor reads the dom0's input path as import does: sshd from the two networks, nothing else open.
    expect({ sshPort: deployed.dom0Access.sshPort, sshFrom: deployed.dom0Access.sshFrom, open: deployed.dom0Access.open }).toEqual({ sshPort: 22, sshFrom: ["198.51.100.0/24", "203.0.113.0/24"], open: [] });
    expect(sockets(doctor(again, "dom0"))).toEqual(sockets(deployed));
    expect(deployed.checks.filter((c) => c.status !== "answers").map((c) => c.verdict.summary)).toEqual([]);
    expect(deployed.checks).toHaveLength(6);
    expect(doctor(again, "dom0").exitCode).toBe(0);
  }, 5 * MINUTES);

  it("changing one vhost replaces only its resource (and the check after deploy), and the other sites never stop answering", async () => {
    const lab = theLab();
    const topo = lab.stackTopology.dom0s[0];
    const guest = topo.guests[0];
    const others = { ...guest, vhosts: guest.vhosts.filter((v) => v.name !== "site-b") };
    const change = await lab.deploy({ context: { [VARIANT_KEY]: "changed" }, probeDuring: () => lab.probeGuest(topo.id, others, "during the change") });
    expect(change.ok).toBe(true);
    expect([change.added, change.changed, change.destroyed]).toEqual([2, 0, 2]);
    expect(change.output).toContain("every vhost socket answers from the dom0 (6)");
    expect(change.probesDuring.length).toBeGreaterThan(0);
    expect(failures(change.probesDuring)).toEqual([]);
    expect(failures(lab.probeAll("after the change"))).toEqual([]);
  }, 5 * MINUTES);

  it("a broken Apache config fails the deploy; the other sites keep serving and the old file is back", async () => {
    const lab = theLab();
    const host = lab.guestHost("dom0", "webserv")!;
    const before = host.readFile("/etc/apache2/sites-available/site-b.conf");
    const broken = await lab.deploy({ context: { [VARIANT_KEY]: "broken" } });
    expect(broken.ok).toBe(false);
    expect(broken.tail).toContain("cdktf-xen: webserv/site-site-b: validation failed; the previous files are untouched");
    expect(host.readFile("/etc/apache2/sites-available/site-b.conf")).toBe(before);
    expect(failures(lab.probeAll("after the failed deploy"))).toEqual([]);
  }, 5 * MINUTES);
});

/** What the two-guest scenario's probes must see, by kind, from the client on the uplink and the one behind its router (203.0.113.77). */
const TWO_GUESTS_PORTS = {
  http: 16,
  // alpha-dns: TCP 53 from anywhere.
  "tcp-open": ["192.0.2.10:53", "192.0.2.10:53 from 203.0.113.77", "192.0.2.11:8443 from 203.0.113.77 source port 1024"],
  // alpha-admin: TCP 8443 only from 203.0.113.0/24 and source ports 1024-65535; a port no rule opens.
  "tcp-dropped": ["192.0.2.11:8443 source port 1024", "192.0.2.11:8443 source port 1023", "192.0.2.11:8443 from 203.0.113.77 source port 1023", "192.0.2.10:22", "192.0.2.20:22"],
  // beta-dns: UDP 53 from anywhere, from source ports 1024-65535 only.
  "udp-open": ["192.0.2.21:53 source port 1024", "192.0.2.21:53 from 203.0.113.77 source port 1024"],
  "udp-dropped": ["192.0.2.21:53 source port 1023", "192.0.2.21:53 from 203.0.113.77 source port 1023"],
};

/** The probes' targets by kind (the number of HTTP probes). */
function byKind(probes: readonly ProbeResult[]): typeof TWO_GUESTS_PORTS {
  const of = (kind: ProbeResult["kind"]) => probes.filter((p) => p.kind === kind).map((p) => p.target);
  return { http: of("http").length, "tcp-open": of("tcp-open"), "tcp-dropped": of("tcp-dropped"), "udp-open": of("udp-open"), "udp-dropped": of("udp-dropped") };
}

describeWith(LAB_NEEDS, "lab: one dom0 with two guests of four addresses each, its firewall on ipsets", () => {
  const theLab = useLab("two-guests");

  it("every vhost answers, every forwarded port passes, a closed port is dropped; the negative control black-holes", async () => {
    const lab = theLab();
    const deploy = await lab.deploy();
    expect({ ok: deploy.ok, tail: deploy.ok ? "" : deploy.tail }).toEqual({ ok: true, tail: "" });
    // sshd where the stack's ssh.port says, and nowhere else: the deploy reached the dom0 on 2222 and beta through
    // it on 2200; so does the diff over SSH, which finds nothing to change.
    const listening = (h: SandboxHost) => h.sh("ss -Hltn").stdout.split("\n").filter(Boolean).map((l) => l.trim().split(/\s+/)[3]).sort();
    expect(listening(lab.dom0Host("dom0")!)).toEqual(["198.51.100.2:2222"]);
    expect(listening(lab.guestHost("dom0", "beta")!)).toEqual(expect.arrayContaining(["0.0.0.0:2200"]));
    expect(listening(lab.guestHost("dom0", "beta")!)).not.toContain("0.0.0.0:22");
    const clean = diffStack(path.join(lab.workdir, "cdktf.out", "stacks", lab.options.stack));
    expect({ text: clean.text.split("\n").filter((l) => l.startsWith("==")), exitCode: clean.exitCode }).toEqual({
      text: ["== alpha (root@192.0.2.10): no change", "== dom0 (root@198.51.100.2): no change", "== beta (root@192.0.2.20): no change"],
      exitCode: 0,
    });
    const probes = lab.probeAll("after deploy");
    expect(failures(probes)).toEqual([]);
    expect(byKind(probes)).toEqual(TWO_GUESTS_PORTS);
    // This dom0 matches guests through ipsets: what passed above passed through them (as iptables-save prints the rules).
    const accepts = lab.dom0Host("dom0")!.sh("iptables-save -t filter | grep '^-A FORWARD' | grep -v conntrack").stdout;
    const set = "-m set --match-set cdktf-xen-[0-9a-f]{16} dst,dst";
    expect(accepts).toMatch(
      new RegExp(
        `^-A FORWARD -p tcp ${set} -m multiport --dports 53,80 -j ACCEPT\n` +
          `-A FORWARD -p tcp ${set} -m tcp --dport 80 -j ACCEPT\n` +
          `-A FORWARD -s 203\\.0\\.113\\.0/24 -p tcp ${set} -m tcp --sport 1024:65535 --dport 8443 -j ACCEPT\n` +
          `-A FORWARD -p udp ${set} -m udp --sport 1024:65535 --dport 53 -j ACCEPT\n$`,
      ),
    );
    const { handMade, restored } = lab.negativeControl();
    expect(handMade.filter((p) => p.detail.startsWith("HTTP 200")).map((p) => p.target)).toEqual([
      "192.0.2.10:80 Host alpha-0.example.org",
      "192.0.2.10:80 Host alpha-0.example.org from 203.0.113.77",
      "192.0.2.20:80 Host beta-0.example.org",
      "192.0.2.20:80 Host beta-0.example.org from 203.0.113.77",
    ]);
    expect(handMade.filter((p) => p.detail.includes("timeout"))).toHaveLength(12);
    expect(failures(restored)).toEqual([]);
    expect(lab.modelMismatches).toEqual([]);
  }, 10 * MINUTES);

  it("switching the firewall to nftables and back: only the firewall resource (and the check after deploy) is replaced, and every probe passes through each backend, and through hand-written forms of it that name a network by a set; a rule without a port opens every port of its address, and lets pings through, which the deployed firewall drops, in the kernel and in the model; on each backend the dom0 itself lets in sshd from its management network only, and the model reads its input path alike", async () => {
    const lab = theLab();
    const dom0 = lab.dom0Host("dom0")!;
    const live = () => ({
      forward: dom0.sh("iptables-save -t filter | grep -c '^-A FORWARD' || true").stdout.trim(),
      sets: dom0.sh("ipset list -n | grep -c '^cdktf-xen-' || true").stdout.trim(),
      table: dom0.sh("nft list table inet cdktf_xen >/dev/null 2>&1 && echo yes || echo no").stdout.trim(),
    });
    const expectedProbes = (phase: string) => {
      const probes = lab.probeAll(phase);
      expect(failures(probes)).toEqual([]);
      expect(byKind(probes)).toEqual(TWO_GUESTS_PORTS);
      expect(lab.modelMismatches).toEqual([]);
    };
    // The dom0 itself, as each backend's input path filters it: sshd (on 2222, its ssh.port) from the management network
    // the far client is in, not from the uplink's subnet, and no other port: 22 neither, where nothing listens (were it
    // let through, the kernel would refuse the connection, which the probe tells from a drop).
    const dom0Itself = (phase: string) => {
      const probes = lab.probeDom0("dom0", [
        { protocol: "tcp", port: 2222, far: true, open: true },
        { protocol: "tcp", port: 2222, open: false },
        { protocol: "tcp", port: 22, far: true, open: false },
        { protocol: "udp", port: 161, far: true, open: false },
      ], phase);
      expect(failures(probes)).toEqual([]);
      // A ping to a guest: no rule the stack writes takes a new ICMP echo request.
      expect(failures(lab.probePings("dom0", [{ address: "192.0.2.10", open: false }, { address: "192.0.2.20", far: true, open: false }], phase))).toEqual([]);
      expect(lab.modelMismatches).toEqual([]);
    };
    /**
     * The dom0's firewall files edited into a hand-written form, loaded by `load`, checked in the kernel's
     * listing and probed by `probe`; then the deployed files loaded again.
     */
    const byHand = (load: string, { form, backend, edit, listed, unload }: HandEdit | AllPortsEdit, probe: () => void) => {
      const file = (p: string): CopyFile => ({ path: p, text: dom0.readFile(p) ?? "" });
      const firewall = file(backend === "nftables" ? "/etc/cdktf-xen/firewall.nft" : "/etc/iptables/rules.v4");
      const ipsets = file("/etc/iptables/ipsets");
      const deployed = [firewall.text, ipsets.text];
      edit(firewall, ipsets);
      const write = (texts: string[]) => {
        dom0.writeFile(firewall.path, texts[0]);
        if (backend === "iptables") dom0.writeFile(ipsets.path, texts[1]);
        const loaded = dom0.sh(load);
        expect({ form, loaded: loaded.status, stderr: loaded.stderr }).toEqual({ form, loaded: 0, stderr: "" });
      };
      write([firewall.text, ipsets.text]);
      try {
        expect({ form, listed: dom0.sh(backend === "nftables" ? "nft list ruleset" : "iptables-save").stdout.includes(listed) }).toEqual({ form, listed: true });
        probe();
      } finally {
        write(deployed);
        if (unload) dom0.sh(unload);
      }
    };
    /**
     * The hand-written forms that name alpha-admin's 203.0.113.0/24 otherwise (HAND_EDITS: as doctor
     * and import read them): every probe as deployed, the model asked from the edited files. Then a rule
     * that opens every port of beta's first address: import asks one port of each piece between the
     * edges of the ports the rules name; both ends of every piece pass over TCP (from both clients) and
     * UDP, the same port of the other guest's addresses stays dropped, and the model says so too.
     */
    const handWritten = (backend: "iptables" | "nftables", load: string) => {
      for (const e of HAND_EDITS.filter((x) => x.backend === backend)) byHand(load, e, () => expectedProbes(`${e.form}, loaded by hand`));
      const all = allPortsEdit(backend, "192.0.2.20", "beta-0");
      byHand(load, all, () => {
        const pieces = portPieces(lab.modelOf(lab.stackTopology.dom0s[0]).portsNamed().destination);
        const ends = [...new Set(pieces.flatMap((p) => [p.from, p.to]))];
        const open = (protocol: "tcp" | "udp", far: boolean) => ends.map((port) => ({ protocol, address: "192.0.2.20", port, far, open: true }));
        const probes = lab.probeSockets(
          "dom0",
          [...open("tcp", false), ...open("tcp", true), ...open("udp", false), ...[false, true].flatMap((far) => [{ protocol: "tcp" as const, address: "192.0.2.10", port: 65535, far, open: false }, { protocol: "udp" as const, address: "192.0.2.21", port: 65535, far, open: false }])],
          `${all.form}, loaded by hand`,
        );
        expect({ pieces: portRangesText(pieces), failures: failures(probes), probes: probes.length }).toEqual({ pieces: "1-52, 53, 54-79, 80, 81-8442, 8443, 8444-65535", failures: [], probes: 37 });
        // The rule names no protocol: a ping to its address gets through too (import notes it), not to the other guest's.
        const pings = lab.probePings("dom0", [{ address: "192.0.2.20", open: true }, { address: "192.0.2.20", far: true, open: true }, { address: "192.0.2.10", open: false }], `${all.form}, loaded by hand`);
        expect(failures(pings)).toEqual([]);
        expect(lab.modelMismatches).toEqual([]);
      });
    };
    const toNft = await lab.deploy({ context: { [VARIANT_KEY]: "nftables" } });
    expect({ ok: toNft.ok, tail: toNft.ok ? "" : toNft.tail, counts: [toNft.added, toNft.changed, toNft.destroyed] }).toEqual({ ok: true, tail: "", counts: [2, 0, 2] });
    expect(live()).toEqual({ forward: "0", sets: "0", table: "yes" });
    expectedProbes("on nftables");
    dom0Itself("the dom0 itself, on nftables");
    // The file replaces the table in one transaction, its sets with it.
    handWritten("nftables", "nft -f /etc/cdktf-xen/firewall.nft");

    const back = await lab.deploy({ context: { [VARIANT_KEY]: "base" } });
    expect({ ok: back.ok, tail: back.ok ? "" : back.tail, counts: [back.added, back.changed, back.destroyed] }).toEqual({ ok: true, tail: "", counts: [2, 0, 2] });
    expect(live()).toEqual({ forward: "6", sets: "4", table: "no" });
    expectedProbes("back on iptables");
    dom0Itself("the dom0 itself, back on iptables");
    handWritten("iptables", "ipset restore -exist < /etc/iptables/ipsets && iptables-restore < /etc/iptables/rules.v4");
    expect(live()).toEqual({ forward: "6", sets: "4", table: "no" });
  }, 10 * MINUTES);
});

/** Deploys a seed lab: the deploy and its check after deploy pass, and all six vhost sockets answer both clients; the guest. */
async function seedAnswers(lab: Lab): Promise<SandboxHost> {
  const deploy = await lab.deploy();
  expect({ ok: deploy.ok, tail: deploy.ok ? "" : deploy.tail }).toEqual({ ok: true, tail: "" });
  expect(deploy.output).toContain("every vhost socket answers from the dom0 (6)");
  const probes = lab.probeAll("after deploy");
  expect(failures(probes)).toEqual([]);
  expect(probes.filter((p) => p.kind === "http" || p.kind === "https")).toHaveLength(12);
  return lab.guestHost("dom0", "webserv")!;
}

/** A seed lab of one variant, made by the first test that asks for it; its report printed and everything removed after. */
function useSeedVariant(variant: string): () => Lab {
  let lab: Lab | undefined;
  afterAll(() => {
    if (lab) process.stdout.write(`${lab.report()}\n`);
    lab?.destroy();
  });
  return () => (lab ??= Lab.create({ projectDir: packageRoot(), app: scenarioAppCommand(), stack: "lab", context: { [SCENARIO_KEY]: "seed", [VARIANT_KEY]: variant } }));
}

/** A seed lab held by a child process (a test's, between its steps): the child, its lab's prefix and folder, and how it ended. */
async function seedLabInChild(): Promise<{ child: ChildProcess; prefix: string; workdir: string; exited: Promise<string> }> {
  const root = path.resolve(__dirname, "..", "..");
  const script = [
    `require(${JSON.stringify(require.resolve("ts-node/register/transpile-only"))});`,
    `const { Lab, SCENARIO_KEY } = require(${JSON.stringify(path.join(root, "lib", "lab"))});`,
    `const { packageRoot, scenarioAppCommand } = require(${JSON.stringify(path.join(root, "lib", "lab", "run"))});`,
    `const lab = Lab.create({ projectDir: packageRoot(), app: scenarioAppCommand(), stack: "lab", context: { [SCENARIO_KEY]: "seed" } });`,
    "process.stderr.write(`ready ${lab.prefix} ${lab.workdir}\\n`);",
    "setInterval(() => {}, 1000);",
  ].join("\n");
  const child = spawn(process.execPath, ["-e", script], { cwd: root, env: { ...process.env, TS_NODE_PROJECT: path.join(root, "tsconfig.json") }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (b) => (stderr += b));
  const exited = new Promise<string>((resolve) => child.on("exit", (code, signal) => resolve(`${code} ${signal}`)));
  const started = Date.now();
  while (!/^ready /m.test(stderr) && child.exitCode === null && Date.now() - started < 2 * MINUTES) await new Promise((r) => setTimeout(r, 200));
  const [, prefix, workdir] = /^ready (\S+) (\S+)$/m.exec(stderr) ?? [];
  expect([prefix, stderr.slice(-2000)]).toEqual([expect.stringMatching(/^cx\w+$/), expect.any(String)]);
  return { child, prefix, workdir, exited };
}

describeWith(LAB_NEEDS, "lab: told to stop before it is destroyed", () => {
  it("SIGTERM to a process holding a lab it has not destroyed (a test's, between its steps) removes the lab's namespaces, links, mounts, processes and folder, and ends the process", async () => {
    const { child, prefix, workdir, exited } = await seedLabInChild();
    // Built: the dom0's namespace and the processes in it (its sshd) are there.
    expect(run("ip", ["netns", "list"]).stdout).toContain(`${prefix}d0`);
    const inside = run("ip", ["netns", "pids", `${prefix}d0`]).stdout.split("\n").filter(Boolean).map(Number);
    expect(inside.length).toBeGreaterThan(0);
    child.kill("SIGTERM");
    // Ended as SIGTERM ends a process, once the lab is gone.
    expect(await exited).toBe("null SIGTERM");
    expect(run("ip", ["netns", "list"]).stdout).not.toContain(prefix);
    expect(run("ip", ["-br", "link"]).stdout).not.toContain(prefix);
    expect(fs.readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(prefix);
    expect(inside.filter(running)).toEqual([]);
    expect(fs.existsSync(workdir)).toBe(false);
  }, 3 * MINUTES);
});

describeWith(LAB_NEEDS, "lab: killed before it is destroyed", () => {
  it("SIGKILL to a process holding a lab leaves it behind; the next lab removes it (namespaces, links, mounts, processes, folder and record), and leaves a live lab alone", async () => {
    const { child, prefix, workdir, exited } = await seedLabInChild();
    const record = path.join(LAB_RECORDS, `${prefix}.json`);
    const pidsIn = (netns: string) => run("ip", ["netns", "pids", netns]).stdout.split("\n").filter(Boolean).map(Number);
    const inside = [...pidsIn(`${prefix}d0`), ...pidsIn(`${prefix}c0`)];
    // A deploy works in the lab's folder, in a session of its own: it outlives the lab's process.
    const deploy = spawn("sleep", ["600"], { cwd: workdir, detached: true, stdio: "ignore" });
    // While its owner lives, nothing removes it.
    expect(removeDeadRuns().map((r) => r.prefix)).not.toContain(prefix);
    expect([fs.existsSync(record), fs.existsSync(workdir), run("ip", ["netns", "list"]).stdout.includes(`${prefix}d0`), inside.length > 0]).toEqual([true, true, true, true]);
    child.kill("SIGKILL");
    expect(await exited).toBe("null SIGKILL");
    // Left behind: what blocks every lab after it (the management link), the dom0's sshd, its mounts.
    expect([run("ip", ["-br", "link"]).stdout.includes(`${prefix}m0`), [...inside, deploy.pid!].filter(running).length, fs.readFileSync("/proc/self/mountinfo", "utf8").includes(prefix)]).toEqual([true, inside.length + 1, true]);
    const said: string[] = [];
    const next = Lab.create({ projectDir: packageRoot(), app: scenarioAppCommand(), stack: "lab", context: { [SCENARIO_KEY]: "seed" }, log: (l) => said.push(l) });
    try {
      expect(said.filter((l) => l.startsWith("removed lab"))).toEqual([
        expect.stringMatching(new RegExp(`^removed lab ${prefix}, left behind by process ${child.pid} \\(it ended without tearing the lab down\\): 2 hosts, ${inside.length + 1} processes, its namespaces, links, mounts and ${workdir}$`)),
      ]);
      expect(run("ip", ["netns", "list"]).stdout).not.toContain(prefix);
      expect(run("ip", ["-br", "link"]).stdout).not.toContain(prefix);
      expect(fs.readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(prefix);
      expect([...inside, deploy.pid!].filter(running)).toEqual([]);
      expect([fs.existsSync(workdir), fs.existsSync(record)]).toEqual([false, false]);
      expect(fs.existsSync(path.join(LAB_RECORDS, `${next.prefix}.json`))).toBe(true);
    } finally {
      next.destroy();
    }
    expect(fs.existsSync(path.join(LAB_RECORDS, `${next.prefix}.json`))).toBe(false);
  }, 4 * MINUTES);
});

describeWith(LAB_NEEDS, "lab: the check after deploy, on the seed's hand-made guest network (the proof at synth off)", () => {
  const theLab = useSeedVariant("hand-made");

  it("fails the deploy naming exactly the black-holed addresses, each with why", async () => {
    const lab = theLab();
    const deploy = await lab.deploy();
    expect(deploy.ok).toBe(false);
    const lines = deploy.output.match(/\(remote-exec\): (ok|FAIL) .*/g)!.map((l) => l.replace(/^\(remote-exec\): /, "").trim()).sort();
    const timeout = "timeout: no answer within 5 s, asked twice (the reply does not come back: a guest's reply leaving by another vif, a firewall, or the guest down)";
    expect(lines).toEqual(
      [
        "ok   vhost site-a (a.example.org) on 192.0.2.200:443: HTTP 200",
        "ok   vhost site-a (a.example.org) on 192.0.2.200:80: HTTP 200",
        ...["b", "c"].flatMap((s, i) => [`FAIL vhost site-${s} (${s}.example.org) on 192.0.2.20${i + 1}:443: ${timeout}`, `FAIL vhost site-${s} (${s}.example.org) on 192.0.2.20${i + 1}:80: ${timeout}`]),
      ].sort(),
    );
    expect(deploy.output).toContain("4 of 6 vhost sockets do not answer from the dom0");
    expect(deploy.output).toContain("cdktf-xen: dom0/verify: failed (it changes no file)");
    // The doctor, reading a copy of the hosts and what they run now (routes, rules, sysctls, the firewall),
    // black-holes exactly the sockets the check found silent, and for the same reason.
    const report = doctor(copyOfSeedHosts(lab), "dom0", { uplink: "eth0=192.0.2.1/24" });
    expect(report.problems).toEqual([]);
    const failed = lines.filter((l) => l.startsWith("FAIL")).map((l) => /on (\S+):/.exec(l)![1]).sort();
    expect(report.checks.filter((c) => c.status !== "answers").map((c) => `${c.address}:${c.port}`).sort()).toEqual(failed);
    expect(report.checks.filter((c) => c.status === "black hole")).toHaveLength(4);
    const hop = report.checks.find((c) => c.address === "192.0.2.201" && c.port === 80)!.verdict.failure!;
    expect(hop.text).toContain("in on webserv-0, strict rp_filter drops it: 192.0.2.201 is routed via webserv-1 (main table: 192.0.2.201 dev webserv-1 src 192.0.2.1 (ip-route line 4))");
  }, 10 * MINUTES);
});

describeWith(LAB_NEEDS, "lab: the seed's three addresses on one vif, without policy routing", () => {
  const theLab = useSeedVariant("one-vif");

  it("every address answers from both clients, the check after deploy passes, no rule or table is in the guest, and the model agrees with the kernel", async () => {
    const lab = theLab();
    const guest = await seedAnswers(lab);
    expect(guest.sh("ip -4 -o addr show dev eth0 | awk '{print $4}'").stdout).toBe("192.0.2.200/24\n192.0.2.201/24\n192.0.2.202/24\n");
    expect(guest.sh("ip -4 rule show").stdout).toBe("0:\tfrom all lookup local\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n");
    // vif-route routed each address of the list to the one vif.
    expect(lab.dom0Host("dom0")!.sh("ip -4 route show dev webserv-0").stdout).toBe(
      ["192.0.2.200 scope link src 192.0.2.1 metric 2 ", "192.0.2.201 scope link src 192.0.2.1 metric 2 ", "192.0.2.202 scope link src 192.0.2.1 metric 2 ", ""].join("\n"),
    );
    expect(lab.modelMismatches).toEqual([]);
  }, 10 * MINUTES);
});

for (const [variant, needs] of [["networkd", []], ["netplan", ["netplan"]]] as const) {
describeWith([...LAB_NEEDS, "dbus-daemon", "/lib/systemd/systemd-networkd", "networkctl", ...needs], `lab: the seed's guest on ${variant === "netplan" ? "netplan (rendered for systemd-networkd)" : "systemd-networkd"}`, () => {
  const theLab = useSeedVariant(variant);

  it("deploys with networkctl, every address answers, the check after deploy passes; by hand, replies from all but one address are black-holed; a redeploy changes nothing", async () => {
    const lab = theLab();
    const guest = await seedAnswers(lab);
    expect(guest.sh("ip -4 rule show | grep 'lookup 10' | sort").stdout).toBe(
      ["1000:\tfrom 192.0.2.200 lookup 100 proto static", "1001:\tfrom 192.0.2.201 lookup 101 proto static", "1002:\tfrom 192.0.2.202 lookup 102 proto static", ""].join("\n"),
    );
    const { handMade, restored } = lab.negativeControl();
    const answered = handMade.filter((p) => p.detail.startsWith("HTTP 200")).map((p) => p.target);
    // From behind the router replies leave by the first interface, which alone has the default route: only the first address answers.
    expect(answered.filter((t) => t.endsWith("from 203.0.113.77"))).toEqual(["192.0.2.200:80 Host a.example.org from 203.0.113.77", "192.0.2.200:443 Host a.example.org from 203.0.113.77"]);
    // On the uplink's subnet they leave by whichever interface's prefix route networkd added first: one address answers, the two others are black holes.
    const near = answered.filter((t) => !t.endsWith("from 203.0.113.77"));
    expect(near).toHaveLength(2);
    expect(new Set(near.map((t) => t.split(":")[0])).size).toBe(1);
    expect(handMade.filter((p) => p.detail.includes("timeout"))).toHaveLength(8);
    expect(failures(restored)).toEqual([]);
    // The lab judges only what the files decide: on the subnet either outcome passes; the rest is judged.
    expect(failures(handMade)).toEqual([]);
    // The model agrees with the kernel on every probe, but says it cannot decide those the files do not decide: the near client's.
    expect(lab.modelMismatches).toEqual([]);
    expect(lab.modelAbstentions.map((m) => m.replace(/: tcp \S+ -> \S+: reply unknown at webserv \(route\): /, ": "))).toEqual(
      ["192.0.2.200:80 Host a.example.org", "192.0.2.200:443 Host a.example.org", "192.0.2.201:80 Host b.example.org", "192.0.2.201:443 Host b.example.org", "192.0.2.202:80 Host c.example.org", "192.0.2.202:443 Host c.example.org"].map(
        (t) =>
          `negative control: hand-made network: ${t.includes(":443") ? "https" : "http"} ${t}: reply from ${t.split(":")[0]} leaves the guest by enX0 or enX1 or enX2: main table, the first of 3 routes to 192.0.2.0/24 has as good a route on each, and which was added first is not known (systemd-networkd configures the interfaces in parallel)`,
      ),
    );
    expect(lab.report()).toContain("and could not decide 6 whose outcome the files do not decide either");
    const again = await lab.deploy();
    expect([again.ok, again.added, again.changed, again.destroyed]).toEqual([true, 0, 0, 0]);
  }, 10 * MINUTES);
});
}

describeWith(LAB_NEEDS, "lab: runs that cannot go ahead", () => {
  const seedOptions = () => ({ projectDir: packageRoot(), app: scenarioAppCommand(), stack: "lab", context: { [SCENARIO_KEY]: "seed", [VARIANT_KEY]: "base" } });

  it("one lab at a time: a second lab is refused while the first holds the management network, naming its link", () => {
    const first = Lab.create(seedOptions());
    let second: Lab | undefined;
    try {
      expect(() => (second = Lab.create(seedOptions()))).toThrow(`the lab's management network 198.51.100.0/24 is in use on this machine (198.51.100.1/30 on ${first.prefix}m0): another lab is running (run one lab at a time), or something other than a lab holds it (a lab whose process was killed is removed before this check)`);
    } finally {
      second?.destroy();
      first.destroy();
    }
    expect(run("ip", ["-br", "link"]).stdout).not.toContain(first.prefix);
  }, 5 * MINUTES);

  it("a cdktf CLI that cannot be run fails the deploy with the reason, ends the run there, and still tears the lab down", async () => {
    const lab = Lab.create({ ...seedOptions(), cdktf: "/nonexistent/cdktf" });
    const result = await runLab(lab);
    expect({ ok: result.ok, deploy: result.deploy.ok, tail: result.deploy.tail }).toEqual({ ok: false, deploy: false, tail: "cannot run /nonexistent/cdktf: spawn /nonexistent/cdktf ENOENT" });
    // The run ends at the failed deploy (no redeploy to fail the same way), and says why.
    expect({ deploys: lab.deploys.length, redeploy: result.redeploy, reasons: result.reasons }).toEqual({
      deploys: 1,
      redeploy: undefined,
      reasons: ["the first deploy failed: cannot run /nonexistent/cdktf: spawn /nonexistent/cdktf ENOENT"],
    });
    expect(result.report).toMatch(/\nwhy it failed:\n  - the first deploy failed: cannot run \/nonexistent\/cdktf/);
    expect(run("ip", ["netns", "list"]).stdout).not.toContain(lab.prefix);
    expect(run("ip", ["-br", "link"]).stdout).not.toContain(lab.prefix);
    expect(fs.existsSync(lab.workdir)).toBe(false);
  }, 5 * MINUTES);
});
