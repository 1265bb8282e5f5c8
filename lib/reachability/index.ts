/**
 * A static model of one routed dom0 and its guests, read from the files they
 * receive (the rendered bytes, or hand-written ones), that answers flow
 * questions in both directions with a hop-by-hop trace. Pure: no cdktf, no
 * I/O, no root.
 */
import type { PortRange } from "../connections/port";
import { dom0Firewalls, FlowEvaluator, FlowQuestion, FlowVerdict } from "./flow";
import { Dom0State, Guests, GuestState, ModelInput } from "./hosts";
import type { ApacheConfig } from "./apache";
import type { Unreadable } from "./outcome";
import type { FirewallVerdict } from "./packet";
import { cidrText, ipNum, ipText } from "./ip";

export type { FlowQuestion, FlowVerdict } from "./flow";
export type { Dom0Input, Dom0Running, FileSet, GuestRunning, ModelInput } from "./hosts";
export type { LiveRoutingText } from "./live-routing";
export type { Hop, Outcome, Stage, Unreadable } from "./outcome";
export { STAGES, unreadableText } from "./outcome";
export { KERNEL_DEFAULTS } from "./sysctl";
export type { SysctlBaseline } from "./sysctl";

export { clientIn, FAR_CLIENTS, outsideClients } from "./clients";

/** The port ranges a dom0's forward path names: {@link Reachability.portsNamed}. */
export interface PortsNamed {
  /** The ranges packets' destination ports are compared with, sorted. */
  readonly destination: PortRange[];
  /** The ranges packets' source ports are compared with, sorted. */
  readonly source: PortRange[];
}

/**
 * The model of one dom0 and its guests, built from the files they receive:
 * asks it whether a flow is delivered and its reply returned, and why.
 */
export class Reachability {
  /** Reads a dom0's files and its guests' files. */
  static fromFiles(input: ModelInput): Reachability {
    return new Reachability(input);
  }

  private readonly dom0: Dom0State;
  private readonly guests: Guests;
  private readonly evaluator: FlowEvaluator;

  private constructor(input: ModelInput) {
    this.dom0 = new Dom0State(input.dom0);
    this.guests = new Guests(this.dom0, input.guests, input.guestBaseline, input.guestBaselines, input.guestsRunning);
    this.evaluator = new FlowEvaluator(this.dom0, this.guests);
  }

  /** Both directions of one flow, with the trace. */
  flow(question: FlowQuestion): FlowVerdict {
    return this.evaluator.evaluate(question);
  }

  /**
   * The verdict of one flow alone, as {@link flow} gives it, without the trace.
   * @internal
   */
  _outcome(question: FlowQuestion): Pick<FlowVerdict, "forward" | "reply" | "ok"> {
    return this.evaluator.outcome(question);
  }

  /** The hosts as a trace names them: the dom0's id, then each guest's name. */
  get hosts(): string[] {
    return [this.dom0.input.id, ...this.guests.names];
  }

  /** The guest addresses the dom0 routes to a vif (vif-route's ip=), by guest name. */
  guestAddresses(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const v of this.dom0.vifs.values()) (out[v.guest] ??= []).push(...v.ips.map(ipText));
    return out;
  }

  /**
   * The source networks the dom0's forward path compares packets with, as
   * `a.b.c.d/n`, sorted, without repeats: iptables FORWARD (and the chains it
   * jumps to) `-s` and sets matched on `src`, nftables `ip saddr` values and
   * sets on the hooks of the forward path; negated matches too. `0.0.0.0/0` is anywhere,
   * not a network of its own.
   */
  sourceNetworks(): string[] {
    return this.sourcesOn("forward");
  }

  /**
   * The source networks the dom0's input path (iptables INPUT and the chains
   * it jumps to, nftables' chains on the input path's hooks) compares packets with, as
   * {@link sourceNetworks} gives those of the forward path.
   * @internal
   */
  _inputSourceNetworks(): string[] {
    return this.sourcesOn("input");
  }

  private sourcesOn(path: "forward" | "input"): string[] {
    const all = this.dom0.firewalls.sourcesNamed(path);
    return [...new Set(all.filter((c) => c.prefix > 0).map(cidrText))].sort();
  }

  /**
   * The port ranges the dom0's forward path compares packets' destination
   * and source ports with, sorted, without repeats: iptables FORWARD (and
   * the chains it jumps to) `--dport`, `--dports`, `--sport`, `--sports`
   * (`--ports` in both), nftables `tcp`/`udp`/`th` `dport` and `sport`
   * values and sets on the hooks of the forward path; negated matches too. Within a piece
   * of ports between their edges every rule matches all of it or none.
   */
  portsNamed(): PortsNamed {
    return this.portsOn("forward");
  }

  /**
   * The port ranges the dom0's input path compares packets' ports with, as
   * {@link portsNamed} gives those of the forward path.
   * @internal
   */
  _inputPortsNamed(): PortsNamed {
    return this.portsOn("input");
  }

  private portsOn(path: "forward" | "input"): PortsNamed {
    const of = (which: "destination" | "source"): PortRange[] => {
      const all = this.dom0.firewalls.portsNamed(path, which);
      const unique = new Map(all.map(([from, to]) => [`${from}-${to}`, { from, to }]));
      return [...unique.values()].sort((a, b) => a.from - b.from || a.to - b.to);
    };
    return { destination: of("destination"), source: of("source") };
  }

  /**
   * What the dom0's forward firewalls do with a client's new ICMP echo
   * request (ping), in by the uplink, to a guest address: `-p icmp`, a rule
   * without a protocol, nftables' `ip protocol icmp` or `icmp type
   * echo-request`. The text names the rule (or policy) of each firewall that
   * decides; undefined when the dom0 routes `to` to no guest's vif.
   * @internal
   */
  _ping(q: { readonly from: string; readonly to: string }): FirewallVerdict | undefined {
    const src = ipNum(q.from);
    const dst = ipNum(q.to);
    if (src === undefined || dst === undefined) throw new Error(`ping ${q.from} -> ${q.to}: expected IPv4 addresses`);
    return this.evaluator.ping(src, dst);
  }

  /**
   * What the dom0's input firewalls (iptables INPUT, then nftables' input
   * hook) do with a client's new connection, in by the uplink, to the dom0's
   * own uplink address: a drop in any one drops; a rule the model cannot read
   * that may match, or a line it cannot read, leaves it unknown. The text
   * names the rule (or policy) of each firewall that decides.
   * @internal
   */
  _toDom0(q: { readonly protocol: "tcp" | "udp"; readonly from: string; readonly port: number; readonly sourcePort?: number }): FirewallVerdict {
    const d = this.dom0;
    const src = ipNum(q.from);
    if (src === undefined) throw new Error(`flow ${q.from} -> the dom0: expected an IPv4 address`);
    return dom0Firewalls(d, "input", { src, dst: d.uplink.address, protocol: q.protocol, sport: q.sourcePort ?? 40000, dport: q.port, iif: d.uplink.device, oif: "", state: "NEW" });
  }

  /**
   * Apache's configuration on `guest` as the model reads it (its sockets from
   * what it listens on now, when that was captured): what the model's answers
   * about its vhosts come from. Undefined when the files give the guest no
   * Apache, or the model no such guest.
   * @internal
   */
  _apacheOf(guest: string): ApacheConfig | undefined {
    return this.guests.get(guest)?.apache;
  }

  /** Everything in the files the model could not read. */
  get unreadable(): Unreadable[] {
    const ofGuest = (g: GuestState): Unreadable[] => [...g.unreadable, ...(g.firewalls?.unreadable ?? [])];
    return [...this.dom0.unreadable, ...this.guests.names.flatMap((g) => ofGuest(this.guests.get(g)!))];
  }
}
