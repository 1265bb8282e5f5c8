/**
 * Every deploy step script, executed for real as root inside sandbox hosts
 * (network namespace + private mount namespace over temporary directories):
 * success, validation failure, activation failure, rollback, and twice.
 */
import { firewallConfirmStep } from "../../lib/concerns/firewall";
import { guestsInventoryStep } from "../../lib/concerns/guests";
import { renderStepScript, StepModel } from "../../lib/deploy/step";
import { SandboxHost } from "../../lib/lab/sandbox-host";
import { PENDING_SUFFIX } from "../../lib/private/paths";
import { RoutedDomU, XenHostFirewall } from "../../lib";
import { labStack, stepOf } from "../support/lab-fixture";
import { describeWith, sandboxHost } from "../support/tools";

const NEEDS = ["root", "nsenter", "unshare", "iptables-restore", "ip6tables-restore", "/usr/share/netfilter-persistent/plugins.d/25-ip6tables", "/usr/share/netfilter-persistent/plugins.d/15-ip4tables", "ifup", "apache2ctl", "curl", "sysctl", "openssl", "/lib/udev/rules.d/19-ifrename.rules"];

function run(host: SandboxHost, step: StepModel) {
  return host.runScript(renderStepScript(step));
}

/** Success, and nothing on stderr but what the programs print in passing (Apache's notices). */
function expectOk(r: { status: number; stdout: string; stderr: string }) {
  const noise = /^(AH00558: .*|Syntax OK)$/;
  const stderr = r.stderr.split("\n").filter((l) => l && !noise.test(l)).join("\n");
  expect({ status: r.status, stderr }).toEqual({ status: 0, stderr: "" });
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A dom0 sandbox with an uplink, and an /etc/nftables.conf that loads our ruleset at boot. */
function firewallDom0(tag: string): SandboxHost {
  const dom0 = sandboxHost(tag);
  expectOk(dom0.sh("ip link add eth0 type veth peer name up0 && ip addr add 192.0.2.1/24 dev eth0 && ip link set eth0 up"));
  dom0.writeFile("/etc/nftables.conf", 'flush ruleset\ninclude "/etc/cdktf-xen/firewall.nft"\n');
  return dom0;
}

/** A live filter table, its chain counters (which move with any packet; IPv6 sends some by itself) as [0:0]. */
function filterTable(dom0: SandboxHost, save: "iptables-save" | "ip6tables-save"): string {
  return dom0.sh(`${save} -t filter | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]$/[0:0]/'`).stdout;
}

/** The live filter tables, our ipsets and our nftables table. */
function liveFirewall(dom0: SandboxHost) {
  return {
    filter: filterTable(dom0, "iptables-save"),
    filter6: filterTable(dom0, "ip6tables-save"),
    sets: dom0.sh("ipset list -n | sort").stdout,
    table: dom0.sh("nft list table inet cdktf_xen 2>/dev/null || true").stdout,
  };
}

const XL_STUB = `#!/bin/sh
# Records what the deploy asks of xl; "running" guests are lines in a file.
state=/var/lib/xl-stub; mkdir -p "$state"; touch "$state/running"
echo "xl $*" >> "$state/calls"
case "$1" in
  create) if [ "$2" = -n ]; then grep -q '^name = ' "$3"; else sed -n 's/^name = "\\(.*\\)"/\\1/p' "$2" >> "$state/running"; fi ;;
  list) grep -qx "$2" "$state/running" ;;
  shutdown) if [ -e "$state/hang" ]; then exec sleep 3600; fi; name=$3; grep -vx "$name" "$state/running" > "$state/r" || true; mv "$state/r" "$state/running" ;;
  *) exit 2 ;;
esac
`;

describeWith(NEEDS, "deploy steps on a dom0", () => {
  let dom0: SandboxHost;
  beforeAll(() => {
    dom0 = sandboxHost("d0");
    expectOk(dom0.sh("ip link add eth0 type veth peer name up0 && ip addr add 192.0.2.1/24 dev eth0 && ip link set eth0 up && ip link set up0 up"));
    dom0.writeFile("/usr/local/sbin/xl", XL_STUB, "0755");
  });
  afterAll(() => dom0?.destroy());

  const lab = labStack();
  const sysctlState = () => ({
    file: dom0.readFile("/etc/sysctl.d/60-cdktf-xen.conf"),
    hook: dom0.sh("stat -c %a /etc/xen/scripts/vif-post.d/cdktf-xen.hook").stdout,
    values: dom0.sh("sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.rp_filter net.ipv4.conf.eth0.proxy_arp").stdout,
  });

  it("sysctl: installs, applies, and a second run changes nothing", () => {
    const step = stepOf(lab.dom0, "sysctl");
    expectOk(run(dom0, step));
    const first = sysctlState();
    expect(first).toEqual({ file: step.files[0].content, hook: "755\n", values: "1\n1\n1\n" });
    expectOk(run(dom0, step));
    expect(sysctlState()).toEqual(first);
  });

  it("sysctl: a key this kernel does not have is refused before anything changes", () => {
    const before = sysctlState();
    const bad = labStack();
    const step = stepOf(bad.dom0, "sysctl");
    const broken = { ...step, files: step.files.map((f, i) => (i === 0 ? { ...f, content: f.content.replace("conf.eth0.", "conf.eth9.") } : f)) };
    const r = run(dom0, broken);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("unknown sysctl net.ipv4.conf.eth9.proxy_arp");
    expect(r.stderr).toContain("cdktf-xen: dom0/sysctl: validation failed; the previous files are untouched");
    expect(sysctlState()).toEqual(before);
    expect(dom0.sh("ls -a /etc/sysctl.d | grep -c cdktf-xen.X || true").stdout).toBe("0\n");
  });

  it("sysctl: a failed activation puts the previous files back", () => {
    const before = sysctlState();
    dom0.writeFile("/usr/local/sbin/sysctl", "#!/bin/sh\necho 'sysctl: broken on purpose' >&2\nexit 1\n", "0755");
    try {
      const step = stepOf(lab.dom0, "sysctl");
      const changed = { ...step, files: step.files.map((f, i) => (i === 0 ? { ...f, content: f.content + "# changed\n" } : f)) };
      const r = run(dom0, changed);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain("cdktf-xen: dom0/sysctl: activation failed; the previous files are back");
    } finally {
      dom0.sh("rm -f /usr/local/sbin/sysctl");
    }
    expect(sysctlState()).toEqual(before);
  });

  const HOOK = "/etc/xen/scripts/vif-post.d/cdktf-xen.hook";
  const SYSCTL = "/etc/sysctl.d/60-cdktf-xen.conf";
  /** The sysctl step with both of its files changed (comments only). */
  const changedSysctl = (tag: string) => {
    const step = stepOf(lab.dom0, "sysctl");
    return { ...step, files: step.files.map((f) => ({ ...f, content: `${f.content}# ${tag}\n` })) };
  };
  const onDisk = () => ({ sysctl: dom0.readFile(SYSCTL), hook: dom0.readFile(HOOK) });
  const leftovers = () => dom0.sh("ls -a /etc/sysctl.d /etc/xen/scripts/vif-post.d /var/lib/cdktf-xen | grep -E '^\\.cdktf-xen\\.|^installing\\.' || true").stdout;

  it("all files or none: a backup that cannot be made (a full disk) stops the step before any file is replaced", () => {
    expectOk(run(dom0, stepOf(lab.dom0, "sysctl")));
    const before = { disk: onDisk(), state: sysctlState() };
    // The hook's backup, the second one made, fails as cp does on a full file system.
    dom0.writeFile("/usr/local/bin/cp", '#!/bin/sh\ncase "$*" in *cdktf-xen.hook.cdktf-xen.bak.new) echo "cp: error writing: No space left on device" >&2; exit 1 ;; esac\nexec /bin/cp "$@"\n', "0755");
    try {
      const r = run(dom0, changedSysctl("full disk"));
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`cdktf-xen: dom0/sysctl: cannot keep a copy of ${HOOK}; nothing changed`);
    } finally {
      dom0.sh("rm -f /usr/local/bin/cp");
    }
    expect({ disk: onDisk(), state: sysctlState() }).toEqual(before);
    expect(leftovers()).toBe("");
  });

  it("all files or none: a run killed after its first rename is finished by the next run, with the backups of the files before it", () => {
    expectOk(run(dom0, stepOf(lab.dom0, "sysctl")));
    const original = onDisk();
    const next = changedSysctl("next");
    // SIGKILL as the second file goes into place: the first is new, the second old, the temporaries stay.
    dom0.writeFile("/usr/local/bin/mv", `#!/bin/sh\ncase "$*" in *" ${HOOK}") kill -9 "$PPID"; exit 1 ;; esac\nexec /bin/mv "$@"\n`, "0755");
    let killed;
    try {
      killed = run(dom0, next);
    } finally {
      dom0.sh("rm -f /usr/local/bin/mv");
    }
    expect(killed.status).not.toBe(0);
    expect(onDisk()).toEqual({ sysctl: next.files[0].content, hook: original.hook });
    expect(leftovers()).toMatch(/^\.cdktf-xen\.\w{6}\ninstalling\.dom0\.sysctl\n$/);
    // The next run: the new set in place, the backups still the files before the killed run, nothing left behind.
    expectOk(run(dom0, next));
    expect(onDisk()).toEqual({ sysctl: next.files[0].content, hook: next.files[1].content });
    expect({ sysctl: dom0.readFile(`${SYSCTL}.cdktf-xen.bak`), hook: dom0.readFile(`${HOOK}.cdktf-xen.bak`) }).toEqual(original);
    expect(leftovers()).toBe("");
    expectOk(run(dom0, stepOf(lab.dom0, "sysctl")));
  });

  it("one owner per host: the first step writes the marker; a step of another stack fails before it changes anything, naming both", () => {
    dom0.sh("rm -f /var/lib/cdktf-xen/owner");
    expectOk(run(dom0, { ...stepOf(lab.dom0, "sysctl"), owner: "webserv/dom0" }));
    expect(dom0.readFile("/var/lib/cdktf-xen/owner")).toBe("webserv/dom0\n");
    const before = onDisk();
    const other = { ...changedSysctl("other team"), owner: "other/dom0" };
    const r = run(dom0, other);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("cdktf-xen: dom0/sysctl: this host belongs to webserv/dom0 (/var/lib/cdktf-xen/owner), not to other/dom0; nothing changed");
    expect(onDisk()).toEqual(before);
    expectOk(run(dom0, { ...stepOf(lab.dom0, "sysctl"), owner: "webserv/dom0" }));
    dom0.sh("rm -f /var/lib/cdktf-xen/owner");
  });

  it("a backup path someone made a link is replaced, never written through", () => {
    expectOk(run(dom0, stepOf(lab.dom0, "sysctl")));
    dom0.sh(`echo precious > /root/precious && ln -sf /root/precious ${SYSCTL}.cdktf-xen.bak`);
    expectOk(run(dom0, changedSysctl("link")));
    expect(dom0.readFile("/root/precious")).toBe("precious\n");
    expect(dom0.sh(`test -L ${SYSCTL}.cdktf-xen.bak && echo link || echo file`).stdout).toBe("file\n");
    expectOk(run(dom0, stepOf(lab.dom0, "sysctl")));
  });

  const live = () => filterTable(dom0, "iptables-save");
  const strip = (t: string) => t.split("\n").filter((l) => l && !l.startsWith("#")).join("\n") + "\n";

  it("firewall: loads, a fresh connection confirms, and a second run changes nothing", () => {
    const step = stepOf(lab.dom0, "firewall");
    expectOk(run(dom0, step));
    expectOk(run(dom0, firewallConfirmStep("dom0")));
    expect(live()).toBe(strip(step.files[0].content));
    expect(dom0.readFile("/var/lib/cdktf-xen/firewall.watchdog.pid")).toBeUndefined();
    expect(dom0.sh("stat -c %a /etc/iptables/rules.v4").stdout).toBe("640\n");
    expectOk(run(dom0, step));
    expectOk(run(dom0, firewallConfirmStep("dom0")));
    expect(live()).toBe(strip(step.files[0].content));
  });

  it("firewall: a watchdog pidfile naming another process (as after a reboot) kills nothing", () => {
    const decoy = Number(dom0.sh("setsid sleep 300 >/dev/null 2>&1 & echo $!").stdout.trim());
    try {
      dom0.writeFile("/var/lib/cdktf-xen/firewall.watchdog.pid", `${decoy}\n`);
      expectOk(run(dom0, stepOf(lab.dom0, "firewall")));
      expectOk(run(dom0, firewallConfirmStep("dom0")));
      // Alive, not a zombie waiting for a parent that does not reap (as this machine's init may not).
      expect(dom0.sh(`cut -d' ' -f3 /proc/${decoy}/stat`).stdout).toBe("S\n");
    } finally {
      process.kill(decoy, "SIGKILL");
    }
  });

  it("firewall: a ruleset iptables-restore refuses never replaces the live one", () => {
    const before = { live: live(), file: dom0.readFile("/etc/iptables/rules.v4") };
    const step = stepOf(lab.dom0, "firewall");
    const broken = { ...step, files: step.files.map((f, i) => (i === 0 ? { ...f, content: f.content.replace("--dport 80", "--dport 99999") } : f)) };
    const r = run(dom0, broken);
    expect(r.stderr).toContain("cdktf-xen: dom0/firewall: validation failed");
    expect({ live: live(), file: dom0.readFile("/etc/iptables/rules.v4") }).toEqual(before);
  });

  it("firewall: without confirmation the previous ruleset and file come back by themselves; the next deploy converges", async () => {
    const before = { live: live(), file: dom0.readFile("/etc/iptables/rules.v4") };
    const next = labStack({ extraRule: true, firewall: { rollbackSeconds: 2 } });
    const step = stepOf(next.dom0, "firewall");
    expectOk(run(dom0, step));
    expect(live()).toContain("-d 192.0.2.12/32 -o web-2 -p tcp -m multiport --dports 53,80 -j ACCEPT");
    const started = Date.now();
    while (live() !== before.live && Date.now() - started < 10000) await sleep(250);
    expect({ live: live(), file: dom0.readFile("/etc/iptables/rules.v4") }).toEqual(before);
    const late = run(dom0, firewallConfirmStep("dom0"));
    expect(late.status).not.toBe(0);
    expect(late.stderr).toContain("too late, the previous ruleset is back: rolled back: no confirmation within 2 s");
    // The confirmation is the firewall resource's second part: failing, it taints the resource, so the next
    // deploy of the same code runs the step again, then confirms (test/deploy/terraform-ssh.test.ts shows
    // Terraform doing so). That converges on the new ruleset.
    expectOk(run(dom0, step));
    expectOk(run(dom0, firewallConfirmStep("dom0")));
    await sleep(2500);
    expect({ live: live(), file: dom0.readFile("/etc/iptables/rules.v4") }).toEqual({ live: strip(step.files[0].content), file: step.files[0].content });
    // Back to the lab stack's ruleset for the tests after this one.
    expectOk(run(dom0, stepOf(lab.dom0, "firewall")));
    expectOk(run(dom0, firewallConfirmStep("dom0")));
    expect({ live: live(), file: dom0.readFile("/etc/iptables/rules.v4") }).toEqual(before);
  });

  it("firewall: a ruleset that loads only in part (IPv4 in, IPv6 refused) is taken out at once, and its pending files with it", async () => {
    const live6 = () => filterTable(dom0, "ip6tables-save");
    const files = () => ["/etc/iptables/rules.v4", "/etc/iptables/rules.v6", "/usr/local/sbin/cdktf-xen-firewall"].map((f) => dom0.readFile(f));
    const before = { live: live(), live6: live6(), files: files() };
    expect(before.live).not.toContain("--dports 53,80");
    // check passes (--test goes to the real program); the first load fails for IPv6, after IPv4 went in.
    const once = "/run/cdktf-xen-test-ip6-refused";
    dom0.writeFile(
      "/usr/local/sbin/ip6tables-restore",
      `#!/bin/sh\ncase " $* " in *" --test "*) exec /usr/sbin/ip6tables-restore "$@" ;; esac\n[ -e ${once} ] && exec /usr/sbin/ip6tables-restore "$@"\ntouch ${once}\necho "ip6tables-restore: refused" >&2\nexit 1\n`,
      "0755",
    );
    try {
      const r = run(dom0, stepOf(labStack({ extraRule: true, firewall: { rollbackSeconds: 2 } }).dom0, "firewall"));
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain("cdktf-xen-firewall: the new ruleset did not load; putting the previous one back");
      expect(r.stderr).toContain("cdktf-xen: dom0/firewall: activation failed; the previous files are back");
    } finally {
      dom0.sh(`rm -f /usr/local/sbin/ip6tables-restore ${once}`);
    }
    expect({ live: live(), live6: live6(), files: files() }).toEqual(before);
    // The pending files went with the failed try: the step's re-activation had nothing to try, so no
    // watchdog waits to roll back to anything, and the on-disk files were never touched.
    expect(["/etc/iptables/rules.v4", "/etc/iptables/rules.v6", "/var/lib/cdktf-xen/firewall.watchdog.pid"].map((f) => dom0.readFile(`${f}${f.endsWith(".pid") ? "" : PENDING_SUFFIX}`))).toEqual([undefined, undefined, undefined]);
    await sleep(2500);
    expect({ live: live(), live6: live6(), files: files() }).toEqual(before);
  });

  it("guest cfg: xl create -n checks it, xl create starts the guest once", () => {
    const step = stepOf(lab.dom0, "guest-web");
    expectOk(run(dom0, step));
    const second = run(dom0, step);
    expectOk(second);
    expect(second.stdout).toContain("web is running; /etc/xen/web.cfg takes effect when it is next created");
    expect(dom0.readFile("/var/lib/xl-stub/calls")).toMatch(/^xl create -n \/etc\/xen\/\.cdktf-xen\.\w+\nxl list web\nxl create \/etc\/xen\/web\.cfg\nxl create -n \/etc\/xen\/\.cdktf-xen\.\w+\nxl list web\n$/);
    expect(dom0.readFile("/etc/xen/web.cfg")).toBe(step.files[0].content);
  });

  it("guest cfg: a running guest is restarted only when asked and its cfg changed", () => {
    const calls = () => dom0.readFile("/var/lib/xl-stub/calls") ?? "";
    const before = calls().length;
    /** The running guest "web" with another cfg (its memory), restarted on change or not. */
    const cfgStep = (memory: number, restartOnChange: boolean) =>
      new RoutedDomU(labStack().dom0, "other", { name: "web", memory, restartOnChange, disks: [], vifs: [{ mac: "00:16:3e:00:09:01", address: "192.0.2.90/24" }] })._cfgStep();
    const notAsked = run(dom0, cfgStep(1024, false));
    expectOk(notAsked);
    expect(notAsked.stdout).toContain("web is running; /etc/xen/web.cfg takes effect when it is next created");
    expect(calls().slice(before)).not.toContain("shutdown");
    const asked = run(dom0, cfgStep(2048, true));
    expectOk(asked);
    expect(asked.stdout).toContain("web is running and its cfg changed: restarting it (restartOnChange)");
    expect(calls().slice(before)).toMatch(/xl shutdown -w web\nxl create \/etc\/xen\/web\.cfg\n$/);
    const unchanged = run(dom0, cfgStep(2048, true));
    expect(unchanged.stdout).toContain("takes effect when it is next created");
    expectOk(run(dom0, stepOf(lab.dom0, "guest-web")));
  });

  it("guests inventory: a guest that left the code is shut down and its cfg removed", () => {
    expectOk(run(dom0, stepOf(lab.dom0, "guests")));
    const gone = labStack();
    const inventory = stepOf(gone.dom0, "guests");
    const emptied = { ...inventory, files: [{ ...inventory.files[0], content: "" }] };
    const r = run(dom0, emptied);
    expectOk(r);
    expect(r.stdout).toContain("removing guest web");
    expect(dom0.readFile("/etc/xen/web.cfg")).toBeUndefined();
    expect(dom0.readFile("/var/lib/xl-stub/calls")).toContain("xl shutdown -w web\n");
    expectOk(run(dom0, emptied));
  });

  it("guests inventory: a guest that hangs in its shutdown fails the step after guestShutdownSeconds, and stays with its cfg", () => {
    expectOk(run(dom0, stepOf(lab.dom0, "guest-web")));
    expectOk(run(dom0, stepOf(lab.dom0, "guests")));
    dom0.sh("touch /var/lib/xl-stub/hang");
    try {
      const started = Date.now();
      const r = run(dom0, guestsInventoryStep("dom0", [], 2));
      expect(r.status).not.toBe(0);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(r.stderr).toContain("guest web did not shut down within 2 s and keeps running: shut it down (or xl destroy it), then deploy again");
      expect(r.stderr).toContain("cdktf-xen: dom0/guests: activation failed; the previous files are back");
    } finally {
      dom0.sh("rm -f /var/lib/xl-stub/hang");
    }
    expect(dom0.readFile("/etc/xen/web.cfg")).toBeDefined();
    expect(dom0.readFile("/var/lib/cdktf-xen/guests.list")).toBe("web\n");
  });
});

// Power loss between try and confirm, as a reboot would see it: the watchdog dies with the power, the live
// tables are empty, and boot loads what is on disk (netfilter-persistent's plugins, or /etc/nftables.conf).
describeWith([...NEEDS, "nft", "ipset", "/usr/share/netfilter-persistent/plugins.d/10-ipset"], "power loss between try and confirm: boot loads the last confirmed ruleset; the next deploy converges", () => {
  let dom0: SandboxHost;
  beforeAll(() => (dom0 = firewallDom0("pl")));
  afterAll(() => dom0?.destroy());
  const live = () => liveFirewall(dom0);
  const step = (firewall: XenHostFirewall, extraRule = false) => stepOf(labStack({ extraRule, firewall: { rollbackSeconds: 600, ...firewall } }).dom0, "firewall");
  const deploy = (s: StepModel) => {
    expectOk(run(dom0, s));
    expectOk(run(dom0, firewallConfirmStep("dom0")));
  };
  const powerCut = (boot: string) => {
    const watchdog = Number(dom0.readFile("/var/lib/cdktf-xen/firewall.watchdog.pid"));
    expect(watchdog).toBeGreaterThan(1);
    // setsid made the watchdog its group's leader: the whole group goes, as with the power.
    process.kill(-watchdog, "SIGKILL");
    expectOk(dom0.sh(`nft flush ruleset && ipset destroy && ${boot}`));
  };
  const PLUGINS = "/usr/share/netfilter-persistent/plugins.d";

  for (const [name, firewall, boot] of [
    ["iptables with ipsets", { ipsetFrom: 0 }, `for p in 10-ipset 15-ip4tables 25-ip6tables; do ${PLUGINS}/$p start >/dev/null; done`],
    ["nftables", { backend: "nftables" }, "nft -f /etc/nftables.conf"],
  ] as const) {
    it(`${name}: the unconfirmed ruleset is live until the power goes; boot loads the confirmed one`, () => {
      deploy(step(firewall));
      const confirmed = live();
      expectOk(run(dom0, step(firewall, true)));
      const tried = live();
      expect(tried).not.toEqual(confirmed);
      powerCut(boot);
      expect(live()).toEqual(confirmed);
      // The stale pid file names no process of ours now; the next deploy of the same code converges.
      deploy(step(firewall, true));
      expect(live()).toEqual(tried);
      expect(dom0.sh(`ls /etc/iptables /etc/cdktf-xen | grep -c '${PENDING_SUFFIX}$' || true`).stdout).toBe("0\n");
    });
  }
});

describeWith(NEEDS, "deploy steps on a guest", () => {
  let guest: SandboxHost;
  const lab = labStack();
  beforeAll(() => {
    guest = sandboxHost("g");
    for (const v of lab.web._guestModel().vifs) {
      expectOk(guest.sh(`ip link add ${v.device} address ${v.mac} type veth peer name p${v.index} && ip link set p${v.index} up`));
    }
    for (const site of ["site-a", "site-b"]) guest.writeFile(`/var/www/${site}/index.html`, `this is ${site}\n`);
  });
  afterAll(() => guest?.destroy());

  const network = () => ({
    rules: guest.sh("ip rule show").stdout,
    tables: guest.sh("ip route show table 100; ip route show table 101; ip route show table 102").stdout,
    addresses: guest.sh("ip -4 -o addr show | awk '{print $2, $4}'").stdout,
    sysctl: guest.sh("sysctl -n net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce net.ipv4.ip_nonlocal_bind").stdout,
  });

  it("network with iftab naming: where no udev rule runs ifrename (iftab would pin nothing), refused before anything is written", () => {
    const bare = sandboxHost("g");
    try {
      // ifrename's rule out of sight in this host's own mount namespace.
      expectOk(bare.sh("mount --bind /dev/null /lib/udev/rules.d/19-ifrename.rules"));
      const before = bare.sh("cat /etc/network/interfaces; ls /etc/iftab 2>&1").stdout;
      const r = run(bare, stepOf(lab.web, "network"));
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('no udev rule runs ifrename (apt-get install ifrename): /etc/iftab would name no interface at the next boot; or give the guest interfaceNaming "udev" or "systemd-link"');
      expect(bare.sh("cat /etc/network/interfaces; ls /etc/iftab 2>&1").stdout).toBe(before);
    } finally {
      bare.destroy();
    }
  });

  it("network: brings up every interface with its table and rule; a second run changes nothing", () => {
    expectOk(run(guest, stepOf(lab.web, "network")));
    const first = network();
    expect(first.rules).toContain("1001:\tfrom 192.0.2.11 lookup xen-eth1");
    expect(first.tables).toContain("default via 192.0.2.1 dev eth2 onlink");
    expect(first.addresses).toBe("lo 127.0.0.1/8\neth0 192.0.2.10/24\neth1 192.0.2.11/24\neth2 192.0.2.12/24\n");
    expect(first.sysctl).toBe("1\n2\n1\n");
    expectOk(run(guest, stepOf(lab.web, "network")));
    expect(network()).toEqual(first);
  });

  /** Apache's parent as its pidfile names it: whether it runs, and whether it handles SIGUSR1 (the graceful signal). */
  const apacheParent = () => {
    const r = guest.sh('p=$(cat /var/run/apache2/apache2.pid) && kill -0 "$p" && echo "$p" && sed -n "s/^SigCgt:[[:space:]]*//p" "/proc/$p/status"');
    const [pid, mask] = r.stdout.trim().split("\n");
    return { pid, running: r.status === 0, handlesUsr1: r.status === 0 && ((parseInt(mask.slice(-3), 16) >> 9) & 1) === 1 };
  };

  it("apache: when the step returns, Apache runs and handles the graceful signal, so the next step's graceful cannot kill it", async () => {
    expect(apacheParent().running).toBe(false);
    // As on a loaded host, and more so: `apache2ctl start` returns before the server has even begun.
    guest.writeFile("/usr/local/sbin/apache2-slow", '#!/bin/sh\ncase " $* " in *" -k start "*) (sleep 1; exec /usr/sbin/apache2 "$@") >/dev/null 2>&1 & exit 0 ;; esac\nexec /usr/sbin/apache2 "$@"\n', "0755");
    const envvars = guest.readFile("/etc/apache2/envvars")!;
    guest.writeFile("/etc/apache2/envvars", `${envvars}export APACHE_HTTPD=/usr/local/sbin/apache2-slow\n`);
    try {
      expectOk(run(guest, stepOf(lab.web, "apache")));
    } finally {
      guest.writeFile("/etc/apache2/envvars", envvars);
    }
    const started = apacheParent();
    expect(started).toMatchObject({ running: true, handlesUsr1: true });
    expectOk(guest.sh(`kill -USR1 ${started.pid}`));
    await sleep(1000);
    expect(apacheParent()).toEqual(started);
  });

  it("apache: a changed ports.conf waits until the old Apache is gone before it starts the new one (a start while it lingers would start nothing)", async () => {
    expectOk(guest.sh('if p=$(cat /var/run/apache2/apache2.pid 2>/dev/null) && kill -0 "$p" 2>/dev/null; then apache2ctl stop; while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; fi'));
    // A parent that takes 12 s to go after the stop signal, as on a loaded host.
    expectOk(guest.sh("setsid sh -c 'trap \"\" TERM; sleep 12' >/dev/null 2>&1 & echo $! > /var/run/apache2/apache2.pid"));
    const lingering = apacheParent();
    expect(lingering).toMatchObject({ running: true, handlesUsr1: false });
    expectOk(run(guest, stepOf(labStack({ sites: ["site-a"] }).web, "apache")));
    const started = apacheParent();
    expect(started).toMatchObject({ running: true, handlesUsr1: true });
    expect(started.pid).not.toBe(lingering.pid);
    await sleep(1000);
    expect(apacheParent()).toEqual(started);
  }, 60_000);

  const get = (address: string, host: string) =>
    guest.exec(["curl", "-s", "-m", "5", "--noproxy", "*", "-H", `Host: ${host}`, `http://${address}/`]).stdout;

  it("apache and sites: each vhost answers on its own address; a second run changes nothing", () => {
    for (const concern of ["apache", "site-site-a", "site-site-b", "sites"]) expectOk(run(guest, stepOf(lab.web, concern)));
    expect(get("192.0.2.10", "site-a.example.org")).toBe("this is site-a\n");
    expect(get("192.0.2.11", "site-b.example.org")).toBe("this is site-b\n");
    const files = guest.sh("ls -l /etc/apache2/sites-enabled | awk '{print $9, $11}'").stdout;
    for (const concern of ["apache", "site-site-a", "site-site-b", "sites"]) expectOk(run(guest, stepOf(lab.web, concern)));
    expect(guest.sh("ls -l /etc/apache2/sites-enabled | awk '{print $9, $11}'").stdout).toBe(files);
    expect(get("192.0.2.11", "site-b.example.org")).toBe("this is site-b\n");
  });

  it("a site Apache refuses is never installed, and the sites keep answering", () => {
    const step = stepOf(lab.web, "site-site-b");
    const before = guest.readFile("/etc/apache2/sites-available/site-b.conf");
    const broken = { ...step, files: [{ ...step.files[0], content: step.files[0].content.replace("</VirtualHost>", "") }] };
    const r = run(guest, broken);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("cdktf-xen: web/site-site-b: validation failed; the previous files are untouched");
    expect(guest.readFile("/etc/apache2/sites-available/site-b.conf")).toBe(before);
    expect(get("192.0.2.11", "site-b.example.org")).toBe("this is site-b\n");
  });

  it("a site file that is a link into a configuration repository: a refused site never writes through it", () => {
    const step = stepOf(lab.web, "site-site-b");
    const path = "/etc/apache2/sites-available/site-b.conf";
    const kept = guest.readFile(path)!;
    guest.sh(`mkdir -p /var/lib/config-repo && cp ${path} /var/lib/config-repo/site-b.conf && ln -sf /var/lib/config-repo/site-b.conf ${path}`);
    try {
      const broken = { ...step, files: [{ ...step.files[0], content: step.files[0].content.replace("</VirtualHost>", "") }] };
      const r = run(guest, broken);
      expect(r.stderr).toContain("cdktf-xen: web/site-site-b: validation failed; the previous files are untouched");
      expect({ repo: guest.readFile("/var/lib/config-repo/site-b.conf"), link: guest.sh(`readlink ${path}`).stdout }).toEqual({ repo: kept, link: "/var/lib/config-repo/site-b.conf\n" });
      expect(get("192.0.2.11", "site-b.example.org")).toBe("this is site-b\n");
    } finally {
      guest.sh(`rm -f ${path} && cp /var/lib/config-repo/site-b.conf ${path}`);
    }
    expectOk(run(guest, step));
  });

  it("a site whose certificate does not match its key (apache2ctl -t passes it, Apache exits loading it) fails its step; the previous site comes back and every site answers", () => {
    expectOk(guest.sh("mkdir -p /etc/ssl/lab && cd /etc/ssl/lab && for n in a b; do openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=$n -days 2 -keyout $n.key -out $n.crt 2>/dev/null; done"));
    const mismatched = labStack({ tls: { "site-b": { certificateFile: "/etc/ssl/lab/a.crt", certificateKeyFile: "/etc/ssl/lab/b.key" } } });
    const before = guest.readFile("/etc/apache2/sites-available/site-b.conf");
    const r = run(guest, stepOf(mismatched.web, "site-site-b"));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("Apache exited loading the new files: see its error log");
    expect(r.stderr).toContain("cdktf-xen: web/site-site-b: activation failed; the previous files are back");
    expect(guest.readFile("/etc/apache2/sites-available/site-b.conf")).toBe(before);
    expect(apacheParent()).toMatchObject({ running: true, handlesUsr1: true });
    expect(get("192.0.2.10", "site-a.example.org")).toBe("this is site-a\n");
    expect(get("192.0.2.11", "site-b.example.org")).toBe("this is site-b\n");
  });

  it("sites inventory: a vhost that left the code is disabled and removed; the others keep answering", () => {
    const smaller = labStack({ sites: ["site-a"] });
    const r = run(guest, stepOf(smaller.web, "sites"));
    expectOk(r);
    expect(r.stdout).toContain("removing site site-b");
    expect(guest.readFile("/etc/apache2/sites-available/site-b.conf")).toBeUndefined();
    // Debian's own 000-default stays: only what cdktf-xen installed is removed.
    expect(guest.sh("ls /etc/apache2/sites-enabled").stdout).toBe("000-default.conf\nsite-a.conf\n");
    expect(get("192.0.2.10", "site-a.example.org")).toBe("this is site-a\n");
    expectOk(run(guest, stepOf(smaller.web, "sites")));
  });
});

describeWith(NEEDS, "idempotency: every step run twice leaves every host in the same state", () => {
  const lab = labStack();
  let dom0: SandboxHost;
  let guest: SandboxHost;
  beforeAll(() => {
    dom0 = sandboxHost("id");
    expectOk(dom0.sh("ip link add eth0 type veth peer name up0 && ip addr add 192.0.2.1/24 dev eth0 && ip link set eth0 up && ip link set up0 up"));
    dom0.writeFile("/usr/local/sbin/xl", XL_STUB, "0755");
    guest = sandboxHost("ig");
    for (const v of lab.web._guestModel().vifs) {
      expectOk(guest.sh(`ip link add ${v.device} address ${v.mac} type veth peer name p${v.index} && ip link set p${v.index} up`));
    }
    for (const site of ["site-a", "site-b"]) guest.writeFile(`/var/www/${site}/index.html`, `this is ${site}\n`);
  });
  afterAll(() => {
    dom0?.destroy();
    guest?.destroy();
  });

  function snapshot(host: SandboxHost, paths: string[]) {
    return {
      files: paths.map((p) => host.sh(`stat -c '%n %a %s' ${p} && sha256sum ${p}`).stdout),
      rules: host.sh("ip rule show").stdout,
      routes: host.sh("ip route show table all | grep -v '^local\\|^broadcast\\|^multicast\\|fe80\\|^ff00'").stdout,
      iptables: host.sh("iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'").stdout,
      sites: host.sh("ls -l /etc/apache2/sites-enabled | awk 'NR>1 {print $9, $11}'").stdout,
      listening: host.sh("ss -Hltn | awk '{print $4}' | sort").stdout,
      sysctl: host.sh("sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.rp_filter net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce").stdout,
    };
  }

  function runAll(host: SandboxHost, steps: StepModel[]) {
    for (const step of steps) {
      expectOk(run(host, step));
      if (step.concern === "firewall") expectOk(run(host, firewallConfirmStep(step.host)));
    }
  }

  it("dom0: sysctl, firewall (confirmed), guest cfg, inventory", () => {
    const steps = lab.dom0._deploySteps();
    const paths = steps.flatMap((s) => s.files.map((f) => f.path));
    runAll(dom0, steps);
    const first = snapshot(dom0, paths);
    expect(first.iptables).toContain("-A FORWARD -d 192.0.2.10/32 -o web-0 -p tcp -m tcp --dport 80 -j ACCEPT");
    runAll(dom0, steps);
    expect(snapshot(dom0, paths)).toEqual(first);
  });

  it("guest: network, Apache, sites, inventory", () => {
    const steps = lab.web._deploySteps();
    const paths = steps.flatMap((s) => s.files.map((f) => f.path));
    runAll(guest, steps);
    const first = snapshot(guest, paths);
    expect(first.rules).toContain("1002:\tfrom 192.0.2.12 lookup xen-eth2");
    expect(first.listening).toContain("192.0.2.11:80");
    runAll(guest, steps);
    expect(snapshot(guest, paths)).toEqual(first);
  });
});

describeWith([...NEEDS, "nft"], "the nftables backend: firewall step for real", () => {
  let dom0: SandboxHost;
  beforeAll(() => {
    dom0 = sandboxHost("nf");
    expectOk(dom0.sh("ip link add eth0 type veth peer name up0 && ip addr add 192.0.2.1/24 dev eth0 && ip link set eth0 up"));
  });
  afterAll(() => dom0?.destroy());
  const table = () => dom0.sh("nft list table inet cdktf_xen 2>&1").stdout;
  const BOOT_CONFIG = 'flush ruleset\ninclude "/etc/cdktf-xen/firewall.nft"\n';

  it("warns when /etc/nftables.conf does not name the ruleset (it would not load at boot), and loads it all the same", () => {
    const step = stepOf(labStack({ firewall: { backend: "nftables" } }).dom0, "firewall");
    const r = run(dom0, step);
    expect({ status: r.status, stderr: r.stderr }).toEqual({
      status: 0,
      stderr: "cdktf-xen-firewall: warning: /etc/nftables.conf does not name /etc/cdktf-xen/firewall.nft: this firewall is not loaded at boot\n".repeat(2),
    });
    expectOk(run(dom0, firewallConfirmStep("dom0")));
    dom0.writeFile("/etc/nftables.conf", BOOT_CONFIG);
    expectOk(run(dom0, step));
    expectOk(run(dom0, firewallConfirmStep("dom0")));
    expectOk(dom0.sh("nft -c -f /etc/nftables.conf"));
  });

  it("loads one table with a set, confirms, runs again unchanged; without confirmation the previous table comes back", async () => {
    const first = labStack({ firewall: { backend: "nftables", rollbackSeconds: 2 } });
    const step = stepOf(first.dom0, "firewall");
    expect(step.files.map((f) => f.path)).toEqual(["/etc/cdktf-xen/firewall.nft", "/usr/local/sbin/cdktf-xen-firewall"]);
    expectOk(run(dom0, step));
    expectOk(run(dom0, firewallConfirmStep("dom0")));
    const confirmed = table();
    expect(confirmed).toContain('elements = { 192.0.2.10 . "web-0"');
    expect(confirmed).toContain("ip daddr . oifname @accept0 tcp dport 80 accept");
    expectOk(run(dom0, step));
    expectOk(run(dom0, firewallConfirmStep("dom0")));
    expect(table()).toBe(confirmed);

    const next = stepOf(labStack({ extraRule: true, firewall: { backend: "nftables", rollbackSeconds: 2 } }).dom0, "firewall");
    expectOk(run(dom0, next));
    expect(table()).toContain("dport { 53, 80 }");
    const started = Date.now();
    while (table() !== confirmed && Date.now() - started < 10000) await new Promise((r) => setTimeout(r, 250));
    expect(table()).toBe(confirmed);
    expect(dom0.readFile("/etc/cdktf-xen/firewall.nft")).toBe(step.files[0].content);
  });
});

describeWith([...NEEDS, "ipset", "/usr/share/netfilter-persistent/plugins.d/10-ipset"], "the iptables backend with ipsets: firewall step for real", () => {
  let dom0: SandboxHost;
  beforeAll(() => {
    dom0 = sandboxHost("is");
    expectOk(dom0.sh("ip link add eth0 type veth peer name up0 && ip addr add 192.0.2.1/24 dev eth0 && ip link set eth0 up"));
  });
  afterAll(() => dom0?.destroy());
  const live = () => ({
    rules: dom0.sh("iptables-save -t filter | grep '^-A FORWARD'").stdout,
    sets: dom0.sh("ipset save | grep -v '^create' | sort").stdout,
    files: [dom0.readFile("/etc/iptables/ipsets"), dom0.readFile("/etc/iptables/rules.v4")],
  });

  it("loads sets then rules, confirms, runs again unchanged; without confirmation the previous rules, sets and files come back", async () => {
    const step = stepOf(labStack({ firewall: { ipsetFrom: 0, rollbackSeconds: 2 } }).dom0, "firewall");
    expect(step.files.map((f) => f.path)).toEqual(["/etc/iptables/ipsets", "/etc/iptables/rules.v4", "/etc/iptables/rules.v6", "/usr/local/sbin/cdktf-xen-firewall"]);
    expectOk(run(dom0, step));
    expectOk(run(dom0, firewallConfirmStep("dom0")));
    const confirmed = live();
    expect(confirmed.rules).toMatch(/^-A FORWARD -p tcp -m set --match-set cdktf-xen-[0-9a-f]{16} dst,dst -m tcp --dport 80 -j ACCEPT$/m);
    expect(confirmed.sets).toContain(",web-0\n");
    expect(confirmed.files).toEqual([step.files[0].content, step.files[1].content]);
    expectOk(run(dom0, step));
    expectOk(run(dom0, firewallConfirmStep("dom0")));
    expect(live()).toEqual(confirmed);

    const next = stepOf(labStack({ extraRule: true, firewall: { ipsetFrom: 0, rollbackSeconds: 2 } }).dom0, "firewall");
    expectOk(run(dom0, next));
    expect(live().rules).toContain("--dports 53,80");
    const started = Date.now();
    while (!dom0.readFile("/var/lib/cdktf-xen/firewall.decided/rolled-back") && Date.now() - started < 10000) await new Promise((r) => setTimeout(r, 250));
    expect(live()).toEqual(confirmed);
  });
});

describeWith([...NEEDS, "nft", "ipset", "/usr/share/netfilter-persistent/plugins.d/10-ipset"], "switching firewall.backend: the other backend's files and rules go, and come back on rollback", () => {
  let dom0: SandboxHost;
  beforeAll(() => (dom0 = firewallDom0("sw")));
  afterAll(() => dom0?.destroy());
  const FILES = ["/etc/iptables/rules.v4", "/etc/iptables/rules.v6", "/etc/iptables/ipsets", "/etc/cdktf-xen/firewall.nft", "/usr/local/sbin/cdktf-xen-firewall"];
  const state = () => ({
    ...liveFirewall(dom0),
    files: Object.fromEntries(FILES.map((f) => [f, dom0.readFile(f)])),
    // What a try loaded and no confirm has put in place yet.
    pending: FILES.filter((f) => dom0.readFile(`${f}${PENDING_SUFFIX}`) !== undefined),
  });
  const EMPTY_FILTER = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
  const step = (firewall: XenHostFirewall) => stepOf(labStack({ firewall: { rollbackSeconds: 2, ...firewall } }).dom0, "firewall");
  const rolledBack = async () => {
    const started = Date.now();
    while (!dom0.readFile("/var/lib/cdktf-xen/firewall.decided/rolled-back") && Date.now() - started < 10000) await sleep(250);
    expect(dom0.readFile("/var/lib/cdktf-xen/firewall.decided/rolled-back")).toBe("rolled back: no confirmation within 2 s\n");
  };
  const content = (s: StepModel, path: string) => s.files.find((f) => f.path === path)!.content;
  const deploy = (s: StepModel) => {
    expectOk(run(dom0, s));
    expectOk(run(dom0, firewallConfirmStep("dom0")));
  };

  it("the very first deploy, unconfirmed, leaves the filter tables as it found them: empty, policies ACCEPT", async () => {
    const before = state();
    expect({ filter: before.filter, filter6: before.filter6 }).toEqual({ filter: EMPTY_FILTER, filter6: EMPTY_FILTER });
    expectOk(run(dom0, step({})));
    expect(state().filter).toContain(":FORWARD DROP");
    expect(state().filter6).toContain(":INPUT DROP");
    await rolledBack();
    // The script stays: there was none before, and a late confirm must be able to say why it is too late.
    expect(state()).toEqual({ ...before, files: { ...before.files, "/usr/local/sbin/cdktf-xen-firewall": content(step({}), "/usr/local/sbin/cdktf-xen-firewall") } });
  });

  it("iptables (ipsets) to nftables: the table loads, then both filter tables, our sets and the iptables files go; unconfirmed, all of it comes back", async () => {
    const iptables = step({ ipsetFrom: 0 });
    deploy(iptables);
    const before = state();
    expect(before.filter).toContain("-m set --match-set cdktf-xen-");
    expect(before.sets).toMatch(/^cdktf-xen-[0-9a-f]{16}\n$/);
    expect(before.filter6).toContain("-A INPUT -p ipv6-icmp -j ACCEPT");

    const nft = step({ backend: "nftables" });
    expectOk(run(dom0, nft));
    const tried = state();
    expect(tried.table).toContain("ip daddr . oifname @accept0 tcp dport 80 accept");
    expect({ filter: tried.filter, filter6: tried.filter6, sets: tried.sets }).toEqual({ filter: EMPTY_FILTER, filter6: EMPTY_FILTER, sets: "" });
    // Live, not confirmed: on disk only the script is new; boot would load the confirmed iptables files.
    expect({ files: tried.files, pending: tried.pending }).toEqual({
      files: { ...before.files, "/usr/local/sbin/cdktf-xen-firewall": content(nft, "/usr/local/sbin/cdktf-xen-firewall") },
      pending: ["/etc/cdktf-xen/firewall.nft"],
    });

    await rolledBack();
    expect(state()).toEqual(before);

    deploy(nft);
    expect(state()).toEqual({
      ...tried,
      files: {
        ...before.files,
        "/etc/iptables/rules.v4": undefined,
        "/etc/iptables/rules.v6": undefined,
        "/etc/iptables/ipsets": undefined,
        "/etc/cdktf-xen/firewall.nft": content(nft, "/etc/cdktf-xen/firewall.nft"),
        "/usr/local/sbin/cdktf-xen-firewall": content(nft, "/usr/local/sbin/cdktf-xen-firewall"),
      },
      pending: [],
    });
  });

  it("nftables to iptables: the table goes and its file loads nothing (an include of it still loads); unconfirmed, the table comes back", async () => {
    const before = state();
    expect(before.table).toContain("table inet cdktf_xen");
    const iptables = step({});
    expectOk(run(dom0, iptables));
    const tried = state();
    expect(tried.table).toBe("");
    expect(tried.filter).toContain("-A FORWARD -d 192.0.2.10/32 -o web-0 -p tcp -m tcp --dport 80 -j ACCEPT");
    expect({ files: tried.files, pending: tried.pending }).toEqual({
      files: { ...before.files, "/usr/local/sbin/cdktf-xen-firewall": content(iptables, "/usr/local/sbin/cdktf-xen-firewall") },
      pending: ["/etc/iptables/rules.v4", "/etc/iptables/rules.v6"],
    });

    await rolledBack();
    expect(state()).toEqual({ ...before, filter: EMPTY_FILTER, filter6: EMPTY_FILTER });

    deploy(iptables);
    const switched = state();
    expect(switched).toEqual({
      ...tried,
      files: {
        ...before.files,
        "/etc/iptables/rules.v4": content(iptables, "/etc/iptables/rules.v4"),
        "/etc/iptables/rules.v6": content(iptables, "/etc/iptables/rules.v6"),
        "/etc/cdktf-xen/firewall.nft":
          "# Generated by cdktf-xen. Changes made here are overwritten by the next deploy.\n# Not in use: this dom0 has the iptables firewall backend. Including this file loads nothing.\n",
        "/usr/local/sbin/cdktf-xen-firewall": content(iptables, "/usr/local/sbin/cdktf-xen-firewall"),
      },
      pending: [],
    });
    expectOk(dom0.sh("nft -c -f /etc/nftables.conf"));
    // Once retired, the unused file stays as it is: a second deploy changes nothing.
    deploy(iptables);
    expect(state()).toEqual(switched);
  });

  it("files that are not ours are never retired: a hand-written rules.v4 and its rules stay, while our rules.v6 goes, and comes back on rollback", async () => {
    const own = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -d 203.0.113.9/32 -j REJECT --reject-with icmp-port-unreachable\nCOMMIT\n";
    dom0.writeFile("/etc/iptables/rules.v4", own);
    expectOk(dom0.sh("iptables-restore < /etc/iptables/rules.v4"));
    const before = state();
    // rules.v6 is ours, from the last deploy (iptables, confirmed).
    expect(before.filter6).toContain("-A INPUT -p ipv6-icmp -j ACCEPT");
    const nft = step({ backend: "nftables" });
    const retired = { filter: own, filter6: EMPTY_FILTER, files: { "/etc/iptables/rules.v4": own, "/etc/iptables/rules.v6": undefined } };
    expectOk(run(dom0, nft));
    // Live at once; on disk once confirmed.
    expect(state()).toMatchObject({ ...retired, files: { ...retired.files, "/etc/iptables/rules.v6": before.files["/etc/iptables/rules.v6"] }, pending: ["/etc/cdktf-xen/firewall.nft"] });
    await rolledBack();
    expect(state()).toEqual(before);
    deploy(nft);
    expect(state()).toMatchObject({ ...retired, pending: [] });
    expect(state().table).toContain("table inet cdktf_xen");
  });
});
