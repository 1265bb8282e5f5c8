/** Building blocks of lab hosts: sshd, first-boot files, Xen's vif-route. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { GuestModel } from "../model";
import { shellSource } from "../render/shell-source";
import { SandboxHost } from "./sandbox-host";

/** Fails with the command's stderr. */
export function must(r: { status: number; stdout: string; stderr: string }, what: string): string {
  if (r.status !== 0) throw new Error(`${what}: ${r.stderr.trim() || r.stdout.trim() || `exit ${r.status}`}`);
  return r.stdout;
}

/** resolv.conf and hosts of the host's own: DNS never leaves the lab. */
export function writeBaseFiles(host: SandboxHost, hostname: string): void {
  host.writeFile("/etc/resolv.conf", "nameserver 127.0.0.1\n");
  host.writeFile("/etc/hosts", `127.0.0.1 localhost\n127.0.1.1 ${hostname}\n`);
  host.writeFile("/etc/hostname", `${hostname}\n`);
}

/**
 * The private host key of a lab host (`dom0` or `guest-<name>` under its
 * dom0's id), made on first use: a guest created again keeps its key, as a
 * real guest keeps its disk. A dom0's `.pub` is what the lab's deploys pin.
 */
export function labHostKey(workdir: string, dom0Id: string, host: string): string {
  const key = path.join(workdir, "hostkeys", dom0Id, host);
  fs.mkdirSync(path.dirname(key), { recursive: true });
  if (!fs.existsSync(key)) must(runLocal("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${dom0Id}/${host}`, "-f", key]), "ssh-keygen");
  return key;
}

/**
 * Starts sshd inside the host on `listen`:`port` (the port the stack's
 * ssh.port names) with its host key (from `labHostKey`), the lab's
 * authorized key, and TCP forwarding (a dom0 is the guests' bastion).
 */
export function startSshd(host: SandboxHost, workdir: string, listen: string, port: number, key: string): void {
  const config = `/etc/ssh/sshd_config.lab-${listen}`;
  host.writeFile(
    config,
    [
      `ListenAddress ${listen}:${port}`,
      `HostKey ${key}`,
      `PidFile /run/sshd-lab-${listen}.pid`,
      `AuthorizedKeysFile ${path.join(workdir, "authorized_keys")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "AllowTcpForwarding yes",
      "UseDNS no",
      "",
    ].join("\n"),
  );
  must(host.sh(`mkdir -p -m 0755 /run/sshd && /usr/sbin/sshd -f ${config}`), `sshd in ${host.name}`);
  waitListening(host, listen, port);
}

/** Waits until a TCP port listens on an address (0.0.0.0: all of them) inside the host. */
export function waitListening(host: SandboxHost, address: string, port: number, seconds = 10): void {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (host.sh(`ss -Hltn 'sport = :${port}' | grep -qF ' ${address}:${port} '`).status === 0) return;
    spawnSync("sleep", ["0.1"]);
  }
  throw new Error(`nothing listens on ${address}:${port} in ${host.name}`);
}

export function runLocal(cmd: string, args: string[], input?: string) {
  const r = spawnSync(cmd, args, { encoding: "utf8", input });
  return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
}

/**
 * The network an installer such as xen-tools leaves in a new guest: only the
 * first interface, its address and the gateway.
 */
export function firstBootInterfaces(guest: GuestModel): string {
  const v = guest.vifs[0];
  return [
    "auto lo",
    "iface lo inet loopback",
    "",
    `auto ${v.device}`,
    `iface ${v.device} inet static`,
    `    address ${v.address.address}/${v.address.prefix}`,
    `    gateway ${guest.gateway}`,
    "",
  ].join("\n");
}

/**
 * The first boot of a guest's network, as its installer leaves it: ifupdown
 * brings up the first interface, or systemd-networkd (started as its boot
 * would, see sh/networkd-start.sh; netplan renders for it) configures it from
 * one `.network` file that sorts after the deploy's, so that the deploy's take over.
 */
export function bootNetwork(guest: SandboxHost, model: GuestModel): void {
  if (model.network !== "ifupdown") {
    const v = model.vifs[0];
    guest.writeFile("/etc/systemd/network/90-first-boot.network", `[Match]\nName=${v.device}\n\n[Network]\nAddress=${v.address.address}/${v.address.prefix}\nGateway=${model.gateway}\n`);
    must(guest.runScript(`#!/bin/sh\n${shellSource(__dirname, "sh/networkd-start.sh")}\n`), `systemd-networkd of ${model.name}`);
    return;
  }
  guest.writeFile("/etc/network/interfaces", firstBootInterfaces(model));
  must(guest.sh("ifup -a"), `first boot network of ${model.name}`);
}

/** xenstore stand-ins for vif-route: reads fail (defaults apply), writes succeed. */
export function stubXenstore(dom0: SandboxHost, workdir: string): void {
  const read = path.join(workdir, "xenstore-read");
  const write = path.join(workdir, "xenstore-write");
  fs.writeFileSync(read, "#!/bin/sh\nexit 1\n", { mode: 0o755 });
  fs.writeFileSync(write, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  must(
    dom0.sh(`mount --bind ${read} "$(command -v xenstore-read)" && mount --bind ${write} "$(command -v xenstore-write)"`),
    `xenstore stubs in ${dom0.name}`,
  );
}

/** Runs Xen's own vif-route for one vif in the dom0, as the hotplug machinery would. */
export function vifRouteOnline(dom0: SandboxHost, v: { vifname: string; ip: string; gatewaydev: string; domid: number; devid: number }): void {
  must(
    dom0.exec([
      "env",
      `vif=${v.vifname}`,
      `XENBUS_PATH=/local/domain/0/backend/vif/${v.domid}/${v.devid}`,
      `ip=${v.ip}`,
      `netdev=${v.gatewaydev}`,
      "bash",
      "/etc/xen/scripts/vif-route",
      "online",
      "type_if=vif",
    ]),
    `vif-route for ${v.vifname}`,
  );
}
