/** Construct trees for the benchmarks, on 198.18.0.0/15 (RFC 2544, for benchmarks): no traffic is sent. */
import { App, TerraformStack } from "cdktf";
import { ForwardRule, Port, RoutedDomU, WebVhost, XenHost } from "../lib";

/** The n-th address of 198.18.0.0/15, skipping .0 and .255 of each /24. */
export function benchAddress(n: number): string {
  const block = Math.floor(n / 254);
  return `198.${18 + Math.floor(block / 256)}.${block % 256}.${(n % 254) + 1}`;
}

function mac(n: number): string {
  return `02:${[24, 16, 8, 0].map((s) => ((n >>> s) & 255).toString(16).padStart(2, "0")).join(":")}:01`;
}

/**
 * `dom0s` dom0s, each with `guests` guests of `ips` addresses; every address
 * a vhost; each guest's ports forwarded. Addresses are unique in the fleet.
 */
export function buildFleet(app: App, dom0s: number, guests: number, ips: number, opts: { sourcePorts?: boolean; ports?: number[]; changeOneVhost?: boolean } = {}): TerraformStack {
  const stack = new TerraformStack(app, "fleet");
  let n = 0;
  for (let d = 0; d < dom0s; d++) {
    const dom0 = new XenHost(stack, `dom0-${d}`, {
      ssh: { host: `203.0.113.${d + 1}` },
      uplink: { address: `${benchAddress(n++)}/15` },
      firewall: { managementCidrs: ["203.0.113.0/24"] },
    });
    for (let g = 0; g < guests; g++) {
      const vifs = Array.from({ length: ips }, (_, i) => {
        const k = n++;
        return { mac: mac(k), address: `${benchAddress(k)}/15`, vifname: `g${g}-${i}` };
      });
      const guest = new RoutedDomU(dom0, `d${d}g${g}`, { disks: [`phy:/dev/vg0/g${g},xvda,w`], vifs });
      vifs.forEach((v, i) => {
        const changed = opts.changeOneVhost && d === 0 && g === 0 && i === 0;
        new WebVhost(guest, `s${i}`, { address: v.address.split("/")[0], serverName: `${changed ? "changed-" : ""}s${i}.g${g}.d${d}.example.org`, documentRoot: `/var/www/s${i}` });
      });
      new ForwardRule(dom0, `fw-g${g}`, { to: guest, ports: opts.ports ?? [80, 443], ...(opts.sourcePorts ? { sourcePorts: [Port.tcpRange(1024, 65535)] } : {}) });
    }
  }
  return stack;
}
