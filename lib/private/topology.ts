/**
 * The stack as plain data: dom0s, their guests and vhosts, the forwarding
 * ruleset. Written at synth as `topology.json` beside the host previews; the
 * lab builds its hosts and probes from it.
 */
import type { ForwardAcceptModel, GuestModel, HostUplinkModel, VhostModel } from "../model";
import type { XenHost } from "../xen-host";

export interface TopologyGuest {
  readonly id: string;
  /** The port its sshd listens on (ssh.port): where the lab starts it. */
  readonly sshPort: number;
  readonly model: GuestModel;
  readonly vhosts: readonly VhostModel[];
}

export interface TopologyDom0 {
  readonly id: string;
  readonly path: string;
  readonly uplink: HostUplinkModel;
  /** The port its sshd listens on (ssh.port): where the lab starts it. */
  readonly sshPort: number;
  readonly guests: readonly TopologyGuest[];
  readonly accepts: readonly ForwardAcceptModel[];
}

export interface Topology {
  readonly dom0s: readonly TopologyDom0[];
}

export function topologyOf(dom0s: readonly XenHost[]): Topology {
  return {
    dom0s: dom0s.map((d) => ({
      id: d.hostId,
      path: d.node.path,
      uplink: d.uplink,
      sshPort: d._ssh.port,
      guests: d.guests.map((g) => ({ id: g.hostId, sshPort: g._connection().port, model: g._guestModel(), vhosts: g.vhosts.map((v) => v._vhostModel()) })),
      accepts: d._firewallModel().accepts,
    })),
  };
}
