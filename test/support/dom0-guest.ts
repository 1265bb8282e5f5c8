/** A dom0 and a guest as two network namespaces, joined as vif-route joins them: for the lab's tests of one rule of the kernel's. */
import { netns } from "./tools";

export type Namespace = ReturnType<typeof netns>;

/** A dom0 and a guest, each a network namespace, removed after `body`. */
export function inNamespaces(tag: string, body: (dom0: Namespace, guest: Namespace) => void): void {
  const dom0 = netns(`${tag}d`);
  const guest = netns(`${tag}g`);
  try {
    body(dom0, guest);
  } finally {
    guest.remove();
    dom0.remove();
  }
}

/**
 * Two vifs as vif-route makes them (the main IP `${net}.1` on each, a /32
 * route to the guest's address `${net}.20<i>` over each) and the guest's two
 * interfaces in one subnet; `vif` sets what else a vif needs, once it exists.
 */
export function twoVifs(dom0: Namespace, guest: Namespace, net: string, vif: (name: string) => void = () => {}): void {
  for (const i of [0, 1]) {
    dom0.sh("ip", "link", "add", `webserv-${i}`, "type", "veth", "peer", "name", `eth${i}`, "netns", guest.name);
    vif(`webserv-${i}`);
    dom0.sh("ip", "addr", "add", `${net}.1/32`, "dev", `webserv-${i}`);
    dom0.sh("ip", "link", "set", `webserv-${i}`, "up");
    dom0.sh("ip", "route", "add", `${net}.20${i}/32`, "dev", `webserv-${i}`, "src", `${net}.1`);
    guest.sh("ip", "addr", "add", `${net}.20${i}/24`, "dev", `eth${i}`);
    guest.sh("ip", "link", "set", `eth${i}`, "up");
  }
}
