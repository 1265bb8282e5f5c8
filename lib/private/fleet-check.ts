import { TerraformStack, Token } from "./cdk";
import { XenHost } from "../xen-host";

/** Key under which the fleet check is registered once per stack. */
export const FLEET_CHECK = Symbol.for("cdktf-xen.fleet-check");

interface Owner {
  readonly path: string;
  readonly prop: string;
  readonly stack: TerraformStack;
}

/**
 * Checks that span constructs: every IP and MAC unique in the whole app
 * (dom0 uplinks included), guest names and vifnames unique per dom0, host ids
 * unique per stack (they name the preview directories). Reports the conflicts
 * that involve a construct of `stack`.
 */
export function checkFleet(stack: TerraformStack): string[] {
  const dom0s = stack.node.root.node.findAll().filter(XenHost.isXenHost);
  const errors: string[] = [];
  const claim = (table: Map<string, Owner>, key: string, owner: Owner, scope: string) => {
    const prev = table.get(key);
    if (!prev) table.set(key, owner);
    else if (owner.stack === stack || prev.stack === stack) {
      errors.push(`${owner.path}: ${owner.prop} ${JSON.stringify(key)} is invalid: already used by ${prev.path} ${prev.prop}; it must be unique ${scope}`);
    }
  };
  const addresses = new Map<string, Owner>();
  const macs = new Map<string, Owner>();
  const hostIds = new Map<string, Owner>();
  const sshHosts = new Map<string, Owner>();
  for (const dom0 of dom0s) {
    const own = TerraformStack.of(dom0);
    const inApp = "in the app";
    const perDom0 = `on ${dom0.node.path}`;
    const perStack = "in the stack (it names the host's preview directory)";
    claim(addresses, dom0.uplink.address.address, { path: dom0.node.path, prop: "uplink.address", stack: own }, inApp);
    if (!Token.isUnresolved(dom0._ssh.host)) {
      claim(sshHosts, `${dom0._ssh.host.toLowerCase()}:${dom0._ssh.port}`, { path: dom0.node.path, prop: "ssh.host and ssh.port", stack: own },
        "in the app: a dom0 belongs to one XenHost, as two would replace each other's firewall and remove each other's guests; to try alternatives for one dom0, build one of them per synth (chosen by an environment variable, say)");
    }
    if (own === stack) claim(hostIds, dom0.hostId, { path: dom0.node.path, prop: "id", stack: own }, perStack);
    const names = new Map<string, Owner>();
    const vifnames = new Map<string, Owner>();
    for (const guest of dom0.guests) {
      claim(names, guest.name, { path: guest.node.path, prop: "name", stack: own }, perDom0);
      if (own === stack) claim(hostIds, guest.hostId, { path: guest.node.path, prop: "id", stack: own }, perStack);
      for (const vif of guest._guestModel().vifs) {
        const owner = (prop: string) => ({ path: guest.node.path, prop: `vifs[${vif.index}].${prop}`, stack: own });
        claim(addresses, vif.address.address, owner("address"), inApp);
        vif.additional.forEach((a, i) => claim(addresses, a.address, owner(`additionalAddresses[${i}]`), inApp));
        claim(macs, vif.mac, owner("mac"), inApp);
        claim(vifnames, vif.vifname, owner("vifname"), perDom0);
      }
    }
  }
  return errors;
}
