/** A sandbox host running the real systemd-networkd, with one veth per vif of a guest, for the networkd and netplan tests. */
import * as fs from "fs";
import * as path from "path";
import type { GuestModel } from "../../lib/model";
import { SandboxHost } from "../../lib/lab/sandbox-host";
import { readLiveRouting } from "../../lib/reachability/live-routing";
import { sandboxHost } from "./tools";

/** What a networkd host needs besides root and namespaces. */
export const NETWORKD_NEEDS = ["root", "nsenter", "unshare", "dbus-daemon", "/lib/systemd/systemd-networkd", "networkctl"];

/** Creates the host in `beforeAll` (its interfaces named and addressed as the guest's vifs, networkd started as the lab's guests start it) and removes it after. */
export function useNetworkdHost(tag: string, guest: () => GuestModel): () => SandboxHost {
  let host: SandboxHost | undefined;
  beforeAll(() => {
    host = sandboxHost(tag);
    for (const v of guest().vifs) {
      const r = host.sh(`ip link add ${v.device} address ${v.mac} type veth peer name peer${v.index} && ip link set peer${v.index} up`);
      if (r.status !== 0) throw new Error(r.stderr);
    }
    const start = host.runScript(`#!/bin/sh\n${fs.readFileSync(path.join(__dirname, "../../lib/lab/sh/networkd-start.sh"), "utf8")}`);
    if (start.status !== 0) throw new Error(`networkd: ${start.stderr}`);
  }, 60000);
  afterAll(() => host?.destroy());
  return () => {
    if (!host) throw new Error("the networkd host was not made");
    return host;
  };
}

/** What the kernel of `host` holds now, as iproute2 prints it, read by the model's reader of running hosts. */
export function kernelRouting(host: SandboxHost) {
  return readLiveRouting({ addr: host.sh("ip -4 -o addr show").stdout, route: host.sh("ip -4 route show table all").stdout, rule: host.sh("ip -4 rule show").stdout }, {});
}

/** Waits until networkd has added `count` of the guest's policy rules (the last thing it configures). */
export function settledRules(host: SandboxHost, count: number): void {
  for (let i = 0; i < 100; i++) {
    if (host.sh("ip -4 rule show | grep -c 'lookup 10[0-9]' || true").stdout.trim() === String(count)) return;
    host.sh("sleep 0.1");
  }
  throw new Error(`networkd did not configure the rules: ${host.sh("ip -4 rule show; networkctl list").stdout}`);
}
