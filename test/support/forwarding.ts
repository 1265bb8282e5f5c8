/**
 * Three namespaces for the lab tests that hold the model's firewall reading
 * against the kernel's: a client on the uplink's subnet, a dom0 set up as the
 * seed's vif-route does it for the guest's first address (a /32 route over
 * the vif, proxy ARP on the uplink and the vif, forwarding on), and the
 * guest. A TCP connection to a port nothing listens on tells what the kernel
 * did: refused (the request arrived and the reset came back) or timed out
 * (one of them was dropped). RFC 5737 addresses; `remove` deletes the
 * namespaces and with them every link.
 */
import { netns } from "./tools";

export const NET = "192.0.2";
export const GUEST = `${NET}.200`;
export const CLIENT = `${NET}.50`;
export const DOM0 = `${NET}.1`;

export interface Forwarding {
  readonly client: ReturnType<typeof netns>;
  readonly dom0: ReturnType<typeof netns>;
  readonly guest: ReturnType<typeof netns>;
  /** Whether the client's TCP connection to `address`:80 was answered (refused), not dropped (timed out). */
  answered(address: string): boolean;
  remove(): void;
}

export function forwarding(tag: string): Forwarding {
  const client = netns(`${tag}c`);
  const dom0 = netns(`${tag}d`);
  const guest = netns(`${tag}g`);
  const remove = () => {
    guest.remove();
    dom0.remove();
    client.remove();
  };
  try {
    const d = dom0.sh;
    d("sysctl", "-qw", "net.ipv4.ip_forward=1");
    d("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "c0", "netns", client.name);
    d("ip", "addr", "add", `${DOM0}/24`, "dev", "eth0");
    d("ip", "link", "set", "eth0", "up");
    d("sysctl", "-qw", "net.ipv4.conf.eth0.proxy_arp=1");
    client.sh("ip", "addr", "add", `${CLIENT}/24`, "dev", "c0");
    client.sh("ip", "link", "set", "c0", "up");
    d("ip", "link", "add", "webserv-0", "type", "veth", "peer", "name", "eth0", "netns", guest.name);
    d("ip", "addr", "add", `${DOM0}/32`, "dev", "webserv-0");
    d("ip", "link", "set", "webserv-0", "up");
    d("sysctl", "-qw", "net.ipv4.conf.webserv-0.proxy_arp=1");
    d("ip", "route", "add", `${GUEST}/32`, "dev", "webserv-0", "src", DOM0);
    guest.sh("ip", "addr", "add", `${GUEST}/24`, "dev", "eth0");
    guest.sh("ip", "link", "set", "eth0", "up");
  } catch (e) {
    remove();
    throw e;
  }
  const answered = (address: string): boolean => {
    // curl's exit 7: connection refused (the reset came back); 28: timed out.
    const r = client.exec("curl", ["-s", "--connect-timeout", "2", `http://${address}/`]);
    if (r.status !== 7 && r.status !== 28) throw new Error(`curl to ${address}: exit ${r.status}, expected 7 (refused) or 28 (timed out): ${r.stderr}`);
    return r.status === 7;
  };
  return { client, dom0, guest, answered, remove };
}
