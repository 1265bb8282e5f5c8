/**
 * Both directions of one flow through a routed dom0: a client (on the
 * uplink's subnet, or behind the uplink's router) opens TCP or UDP to a
 * guest address:port; the request must be delivered and the reply must come
 * back. Each step is a hop with its outcome and a sentence saying why.
 */
import { inCidr, ipNum, ipText, networkOf } from "./ip";
import { combine, Hop, Outcome, Stage, Unreadable, unreadableText } from "./outcome";
import type { FirewallVerdict, Packet } from "./packet";
import { LOCAL, RouteChoice, Routing } from "./routing";
import type { Dom0State, GuestState } from "./hosts";
import type { KernelSettings } from "./sysctl";

/** A flow to prove: from a client address to a guest address and port. */
export interface FlowQuestion {
  /** @default "tcp" */
  readonly protocol?: "tcp" | "udp";
  /** The client's address: on the uplink's subnet, or any address behind the uplink's router. */
  readonly from: string;
  readonly to: string;
  readonly port: number;
  /** @default 40000 */
  readonly sourcePort?: number;
  /**
   * Also require Apache in the guest to listen on `to:port` (ports.conf) with
   * a virtual host for it (sites-available).
   * @default false
   */
  readonly apache?: boolean;
}

export interface FlowVerdict {
  readonly question: FlowQuestion;
  /** The request: delivered to the guest (and to Apache, when asked), dropped, or unknown. */
  readonly forward: "delivered" | "dropped" | "unknown";
  /** The reply: back at the client, dropped, unknown, or never sent (the request did not arrive). */
  readonly reply: "returned" | "dropped" | "unknown" | "not sent";
  /** Delivered and returned. */
  readonly ok: boolean;
  readonly hops: readonly Hop[];
  /** The first hop that dropped the packet, else the first whose outcome is unknown. */
  readonly failure?: Hop;
  /** One line: the flow, the verdict, and the failing hop with the route before it. */
  readonly summary: string;
}

const MODE = ["off", "strict", "loose"];

/**
 * Whether the evaluation running now makes sentences. A flow is evaluated
 * first for its verdict alone (the proof at synth asks thousands); the
 * sentences, when someone reads them, come from a second evaluation.
 */
let explaining = false;
const UNEXPLAINED = (): string => "";

/** A check's outcome; its sentence is made only when someone reads it (the proof at synth reads few). */
interface Check {
  readonly outcome: Outcome;
  readonly text: () => string;
}

/** Two checks that must both pass: a drop in either drops. */
function both(a: Outcome, b: Outcome): Outcome {
  return a === "drop" || b === "drop" ? "drop" : a === "unknown" || b === "unknown" ? "unknown" : "pass";
}

function doubt(list: readonly Unreadable[]): string | undefined {
  return list.length ? `the model cannot read ${unreadableText(list[0])}${list.length > 1 ? ` (and ${list.length - 1} more)` : ""}` : undefined;
}

/**
 * Reverse-path filter of a packet from `src` coming in on `iface`, for our
 * address `local`: the kernel looks up the route back to `src` (from
 * `local`); strict wants it to leave by `iface`, loose wants one at all.
 */
function reversePath(routing: Routing, kernel: KernelSettings, iface: string, src: number, local: number): Check {
  const rp = kernel.conf(iface, "rp_filter");
  const back = routing.lookup({ src: local, dst: src });
  const via = back && back.table !== LOCAL ? back.route.dev : undefined;
  const outcomes = rp.values.map((v): Outcome => (v === 0 ? "pass" : via === undefined ? "drop" : v === 2 || via === iface ? "pass" : "drop"));
  const outcome = combine(outcomes);
  const route = !explaining ? UNEXPLAINED : (): string => (via === undefined ? `there is no route back to ${ipText(src)}` : `${ipText(src)} is routed via ${via} (${back!.how})`);
  const modes = !explaining ? UNEXPLAINED : (): string => rp.values.map((v) => MODE[v] ?? String(v)).join(" or ");
  if (outcome === "drop") return { outcome, text: explaining ? () => (`in on ${iface}, ${modes()} rp_filter drops it: ${route()}; rp_filter ${rp.why}`) : UNEXPLAINED };
  if (outcome === "unknown") return { outcome, text: explaining ? () => (`in on ${iface}, rp_filter may be ${modes()} (${rp.why}): ${route()}, which ${rp.values.map((v, i) => `${MODE[v]} ${outcomes[i] === "pass" ? "lets pass" : "drops"}`).join(", ")}`) : UNEXPLAINED };
  return { outcome, text: explaining ? () => (`in on ${iface}, ${modes()} rp_filter lets it pass: ${rp.values.every((v) => v === 0) ? "no check" : route()}${rp.values.every((v) => v === 0) ? `; rp_filter ${rp.why}` : ""}`) : UNEXPLAINED };
}

/** A verdict whose hops and summary come from a second, explaining evaluation, made when first read. */
class LazyVerdict implements FlowVerdict {
  readonly forward: FlowVerdict["forward"];
  readonly reply: FlowVerdict["reply"];
  readonly ok: boolean;
  private explained?: FlowVerdict;

  constructor(
    readonly question: FlowQuestion,
    fast: FlowVerdict,
    private readonly explain: () => FlowVerdict,
  ) {
    this.forward = fast.forward;
    this.reply = fast.reply;
    this.ok = fast.ok;
  }

  private get full(): FlowVerdict {
    return (this.explained ??= this.explain());
  }

  get hops(): readonly Hop[] {
    return this.full.hops;
  }

  get failure(): Hop | undefined {
    return this.full.failure;
  }

  get summary(): string {
    return this.full.summary;
  }

  /** Plain data, for jest's equality and for JSON. */
  toJSON(): FlowVerdict {
    return { question: this.question, forward: this.forward, reply: this.reply, ok: this.ok, hops: this.hops, failure: this.failure, summary: this.summary };
  }
}

export class FlowEvaluator {
  constructor(
    private readonly dom0: Dom0State,
    private readonly guests: ReadonlyMap<string, GuestState>,
  ) {}

  /** Both directions of a flow: the verdict at once, the hops and summary when read. */
  evaluate(q: FlowQuestion): FlowVerdict {
    return new LazyVerdict(q, this.run(q), () => {
      explaining = true;
      try {
        return this.run(q);
      } finally {
        explaining = false;
      }
    });
  }

  /** One evaluation; its hops and sentences are kept only while explaining. */
  private run(q: FlowQuestion): FlowVerdict {
    const hops: Hop[] = [];
    let drops = 0;
    let unknowns = 0;
    const protocol = q.protocol ?? "tcp";
    const sport = q.sourcePort ?? 40000;
    const src = ipNum(q.from);
    const dst = ipNum(q.to);
    if (src === undefined || dst === undefined) throw new Error(`flow ${q.from} -> ${q.to}: expected IPv4 addresses`);
    const d = this.dom0;
    const dom0 = d.input.id;
    const up = d.uplink.device;
    const add = (host: string, stage: Stage, c: Check) => {
      if (explaining) hops.push({ host, stage, outcome: c.outcome, text: c.text() });
      if (c.outcome === "drop") drops++;
      else if (c.outcome === "unknown") unknowns++;
      return c.outcome !== "drop";
    };
    const finish = (forward: FlowVerdict["forward"], reply: FlowVerdict["reply"]): FlowVerdict => {
      const ok = forward === "delivered" && reply === "returned";
      if (!explaining) return { question: q, forward, reply, ok, hops: [], summary: "" };
      const failure = hops.find((h) => h.outcome === "drop") ?? hops.find((h) => h.outcome === "unknown");
      const title = `${protocol} ${q.from} -> ${q.to}:${q.port}`;
      // Where a reply left the guest, when it failed at the dom0: the cause is often there.
      const at = failure ? hops.indexOf(failure) : -1;
      const route = hops.slice(0, Math.max(at, 0)).reverse().find((h) => h.stage === "route");
      const before = route && route.host !== failure!.host && route.text.startsWith("reply from") ? `${route.text}; ` : "";
      const summary = ok
        ? `${title}: delivered and the reply returns`
        : `${title}: ${forward !== "delivered" ? `request ${forward}` : `reply ${reply}`} at ${failure!.host} (${failure!.stage}): ${before}${failure!.text}`;
      return { question: q, forward, reply, ok, hops, failure, summary };
    };
    const direction = (): Outcome => (drops ? "drop" : unknowns ? "unknown" : "pass");

    // The request, into the dom0.
    const onLink = inCidr(d.uplink.net, src);

    const route = d.routing.lookup({ src, dst, iif: up });
    if (!route || route.table === LOCAL || route.route.dev === up || !d.vifs.has(route.route.dev)) {
      const vifDoubt = doubt(d.doubts.vifs);
      const why = !route ? "the dom0 has no route to it" : route.table === LOCAL ? `${q.to} is the dom0's own address` : `the dom0 routes it via ${route.route.dev}, not a guest's vif (${route.how}): no vif of the xl configs has ip=${q.to}`;
      add(dom0, "route", { outcome: vifDoubt ? "unknown" : "drop", text: explaining ? () => (`${q.to}: ${why}${vifDoubt ? `; ${vifDoubt}` : ""}`) : UNEXPLAINED });
      return finish(vifDoubt ? "unknown" : "dropped", "not sent");
    }
    const vifDev = route.route.dev;
    const vif = d.vifs.get(vifDev)!;
    // Whoever is on the uplink's subnet (the client, or the router in front of it) asks who has the guest's address.
    const proxy = d.kernel.conf(up, "proxy_arp");
    const dropped = () => finish("dropped", "not sent");
    if (!add(dom0, "arp", {
      outcome: combine(proxy.values.map((v) => (v ? "pass" : "drop"))),
      text: explaining ? () => (`${onLink ? `client ${q.from} (on ${up}'s subnet)` : "the uplink's router"} asks on ${up} who has ${q.to}: ${proxy.values.every((v) => v) ? "the dom0 answers by proxy ARP" : proxy.values.some((v) => v) ? "the dom0 may answer by proxy ARP" : "no proxy ARP answers"} (proxy_arp ${proxy.why}; it routes ${q.to} via ${vifDev})`) : UNEXPLAINED,
    })) return dropped();
    if (!add(dom0, "rp_filter", reversePath(d.routing, d.kernel, up, src, dst))) return dropped();
    const fwd = d.kernel.ipForward();
    if (!add(dom0, "forwarding", { outcome: combine(fwd.values.map((v) => (v ? "pass" : "drop"))), text: explaining ? () => (`ip_forward ${fwd.why}`) : UNEXPLAINED })) return dropped();
    add(dom0, "route", { outcome: "pass", text: explaining ? () => (`route to ${q.to}: ${route.how}`) : UNEXPLAINED });
    if (!add(dom0, "firewall", this.firewall({ src, dst, protocol, sport, dport: q.port, iif: up, oif: vifDev, state: "NEW" }))) return dropped();

    // Into the guest.
    const guest = this.guests.get(vif.guest);
    if (!guest) {
      add(vif.guest, "deliver", { outcome: "unknown", text: explaining ? () => (`the files of guest ${vif.guest} are not in the model`) : UNEXPLAINED });
      return finish("unknown", "not sent");
    }
    const device = guest.devices.get(vif.index)!;
    const g = guest.name;
    const routingDoubt = doubt(guest.unreadable);
    if (!add(g, "arp", this.guestAnswersArp(guest, device.dev, d.uplink.address, dst, explaining ? () => `${vifDev} is ${device.dev} in the guest (${device.where})` : UNEXPLAINED))) return dropped();
    if (!add(g, "rp_filter", reversePath(guest.routing, guest.kernel, device.dev, src, dst))) return dropped();
    const local = guest.routing.localDev(dst);
    if (!add(g, "deliver", {
      outcome: local ? (routingDoubt ? "unknown" : "pass") : routingDoubt ? "unknown" : "drop",
      text: explaining ? () => (local ? `${q.to} is the guest's own (on ${local})${routingDoubt ? `; but ${routingDoubt}` : ""}` : `${q.to} is not an address of the guest${routingDoubt ? `; ${routingDoubt}` : ""}`) : UNEXPLAINED,
    })) return dropped();
    if (q.apache && !add(g, "listen", this.apache(guest, dst, q.port))) return dropped();
    const forward = direction();

    // The reply, from the guest back to the client.
    const mark = { drops, unknowns };
    const replyDirection = (): Outcome => (drops > mark.drops ? "drop" : unknowns > mark.unknowns ? "unknown" : "pass");
    const done = (): FlowVerdict => {
      const r = replyDirection();
      return finish(forward === "pass" ? "delivered" : "unknown", r === "pass" ? (forward === "pass" ? "returned" : "unknown") : r === "drop" ? "dropped" : "unknown");
    };
    const out = guest.routing.lookup({ src: dst, dst: src });
    if (!out || out.table === LOCAL) {
      add(g, "route", { outcome: routingDoubt ? "unknown" : "drop", text: explaining ? () => (`reply from ${q.to} to ${q.from}: the guest has no route back${routingDoubt ? `; ${routingDoubt}` : ""}`) : UNEXPLAINED });
      return done();
    }
    const leaves = out.route.dev;
    add(g, "route", { outcome: routingDoubt ? "unknown" : "pass", text: explaining ? () => (`reply from ${q.to} leaves the guest by ${leaves} (${out.how})${routingDoubt ? `; but ${routingDoubt}` : ""}`) : UNEXPLAINED });
    const back = guest.vifOf(leaves);
    const backVif = back === undefined ? undefined : [...d.vifs.values()].find((v) => v.guest === vif.guest && v.index === back);
    if (!backVif) {
      add(g, "route", { outcome: "drop", text: explaining ? () => (`${leaves} is not one of the guest's vifs: the reply never reaches the dom0`) : UNEXPLAINED });
      return done();
    }
    const nextHop = out.route.via ?? src;
    if (!add(dom0, "arp", this.dom0AnswersArp(guest, leaves, backVif.dev, nextHop, dst, out))) return done();
    const rp = reversePath(d.routing, d.kernel, backVif.dev, dst, src);
    if (!add(dom0, "rp_filter", { outcome: rp.outcome, text: explaining ? () => (`reaches the dom0 on ${backVif.dev}; ${rp.text()}`) : UNEXPLAINED })) return done();
    const toClient = d.routing.lookup({ src: dst, dst: src, iif: backVif.dev });
    if (!toClient || toClient.route.dev !== up) {
      add(dom0, "route", { outcome: "drop", text: explaining ? () => (`the dom0 routes ${q.from} via ${toClient?.route.dev ?? "nothing"}, not the uplink`) : UNEXPLAINED });
      return done();
    }
    add(dom0, "route", { outcome: "pass", text: explaining ? () => (`route to ${q.from}: ${toClient.how}`) : UNEXPLAINED });
    // Were the request dropped, there would be no reply; so the reply belongs to a tracked connection.
    add(dom0, "firewall", this.firewall({ src: dst, dst: src, protocol, sport: q.port, dport: sport, iif: backVif.dev, oif: up, state: "ESTABLISHED" }));
    return done();
  }

  /** The dom0's forward-hook firewalls, iptables then nftables: a drop in any one drops. */
  private firewall(p: Packet): Check {
    const d = this.dom0;
    const texts: string[] = [];
    const outcomes: Outcome[] = [];
    const dir = p.state === "NEW" ? `FORWARD ${p.iif} -> ${p.oif}, new connection` : `FORWARD ${p.iif} -> ${p.oif}, reply (established)`;
    if (!d.hasFirewall) return { outcome: "unknown", text: explaining ? () => (`${dir}: the files hold no firewall (rules.v4 or an nftables file), so what the dom0 filters is not known`) : UNEXPLAINED };
    const verdicts: FirewallVerdict[] = [];
    if (d.iptables) verdicts.push(d.iptables.filter.evaluate("FORWARD", p, d.iptables.sets, explaining));
    for (const nft of d.nft) if (nft.hooks("forward")) verdicts.push(nft.evaluate("forward", p, explaining));
    for (const v of verdicts) {
      outcomes.push(v.outcome);
      texts.push(v.text);
    }
    const fwDoubt = doubt(d.doubts.firewall);
    let outcome: Outcome = outcomes.includes("drop") ? "drop" : outcomes.includes("unknown") || fwDoubt ? "unknown" : "pass";
    if (outcome === "drop") texts.splice(0, texts.length, ...texts.filter((_, i) => outcomes[i] === "drop"));
    if (outcome !== "drop" && fwDoubt) outcome = "unknown";
    return { outcome, text: explaining ? () => (`${dir}: ${texts.join("; ")}${outcome === "unknown" && fwDoubt ? `; ${fwDoubt}` : ""}`) : UNEXPLAINED };
  }

  /** The dom0 asks, on the vif, who has the guest address; the guest answers on `dev`? */
  private guestAnswersArp(guest: GuestState, dev: string, sender: number, target: number, naming: () => string): Check {
    const on = guest.routing.addresses.find((a) => a.address === target && a.dev === dev);
    const anywhere = guest.routing.localDev(target);
    const ignore = guest.kernel.conf(dev, "arp_ignore");
    const up = guest.routing.addresses.some((a) => a.dev === dev);
    if (!up) return { outcome: "drop", text: explaining ? () => (`the dom0 asks who has ${ipText(target)}: ${naming()}, which the guest's files do not bring up`) : UNEXPLAINED };
    const rp = reversePath(guest.routing, guest.kernel, dev, sender, target);
    const answers = ignore.values.map((v): Outcome => {
      const level = v === 0 ? anywhere !== undefined : v === 1 ? on !== undefined : v === 2 ? on !== undefined && inCidr(networkOf(on.address, on.prefix), sender) : false;
      return level ? "pass" : "drop";
    });
    const outcome = both(combine(answers), rp.outcome);
    const where = !explaining ? UNEXPLAINED : () => (on ? `${ipText(target)} is on ${dev}` : anywhere ? `${ipText(target)} is on ${anywhere}, not ${dev}` : `${ipText(target)} is on no interface of the guest`);
    if (rp.outcome === "drop") return { outcome: "drop", text: explaining ? () => (`the dom0 asks who has ${ipText(target)}: ${naming()}; the guest does not answer: ${rp.text()}`) : UNEXPLAINED };
    return { outcome, text: explaining ? () => (`the dom0 asks who has ${ipText(target)}: ${naming()}; ${where()}, ${outcome === "pass" ? "the guest answers" : outcome === "drop" ? "the guest does not answer" : "the guest may answer"} (arp_ignore ${ignore.why})`) : UNEXPLAINED };
  }

  /** The guest asks, on `dev`, who has the next hop; the dom0 answers on its vif? */
  private dom0AnswersArp(guest: GuestState, dev: string, vif: string, nextHop: number, replySrc: number, out: RouteChoice): Check {
    const d = this.dom0;
    const announce = guest.kernel.conf(dev, "arp_announce");
    const devAddresses = guest.routing.addresses.filter((a) => a.dev === dev);
    const primary = devAddresses.find((a) => inCidr(networkOf(a.address, a.prefix), nextHop)) ?? devAddresses[0];
    const senders = announce.values.map((v) => {
      const onlink = devAddresses.some((a) => inCidr(networkOf(a.address, a.prefix), nextHop) && inCidr(networkOf(a.address, a.prefix), replySrc));
      return v === 0 || (v === 1 && onlink) ? replySrc : primary?.address ?? replySrc;
    });
    const results = senders.map((s): Check => {
      const rp = reversePath(d.routing, d.kernel, vif, s, nextHop);
      if (rp.outcome === "drop") return { outcome: "drop", text: explaining ? () => (`the dom0 ignores the ARP request from ${ipText(s)}: ${rp.text()}`) : UNEXPLAINED };
      const own = d.routing.addresses.some((a) => a.address === nextHop && a.dev === vif);
      if (own) {
        const ig = d.kernel.conf(vif, "arp_ignore");
        const o = combine(ig.values.map((v) => (v <= 1 ? "pass" : "drop")));
        return { outcome: both(o, rp.outcome), text: explaining ? () => (`${ipText(nextHop)} is the dom0's address on ${vif}, ${o === "pass" ? "it answers" : "it may not answer"} (arp_ignore ${ig.why})`) : UNEXPLAINED };
      }
      const back = d.routing.lookup({ dst: nextHop });
      const proxy = d.kernel.conf(vif, "proxy_arp");
      const o = back && back.route.dev !== vif ? combine(proxy.values.map((v) => (v ? "pass" : "drop"))) : "drop";
      return { outcome: both(o, rp.outcome), text: explaining ? () => (`the dom0 ${o === "pass" ? "answers" : "does not answer"} by proxy ARP on ${vif} (proxy_arp ${proxy.why}; it routes ${ipText(nextHop)} via ${back?.route.dev ?? "nothing"})`) : UNEXPLAINED };
    });
    const outcome = combine(results.map((r) => r.outcome));
    const asks = !explaining ? UNEXPLAINED : () => `the guest asks on ${dev} who has ${ipText(nextHop)} (${out.route.via !== undefined ? "its gateway" : "on-link"}), as ${[...new Set(senders.map(ipText))].join(" or ")} (arp_announce ${announce.why})`;
    const shown = results.find((r) => r.outcome === outcome) ?? results[0];
    return { outcome, text: explaining ? () => (`${asks()}; ${shown.text()}`) : UNEXPLAINED };
  }

  private apache(guest: GuestState, dst: number, port: number): Check {
    if (!guest.apache) return { outcome: "drop", text: explaining ? () => ("the guest's files have no Apache ports.conf") : UNEXPLAINED };
    const matches = (s: { address?: number; port: number }) => s.port === port && (s.address === undefined || s.address === dst);
    const listen = guest.apache.listens.find(matches);
    const vhost = guest.apache.vhosts.find(matches);
    if (!listen) return { outcome: "drop", text: explaining ? () => (`Apache does not listen on ${ipText(dst)}:${port} (no Listen in ports.conf)`) : UNEXPLAINED };
    if (!vhost) return { outcome: "drop", text: explaining ? () => (`Apache listens on ${ipText(dst)}:${port} (${listen.where}) but no site has a <VirtualHost> for it`) : UNEXPLAINED };
    return { outcome: "pass", text: explaining ? () => (`Apache listens on ${ipText(dst)}:${port} (${listen.where}), site ${vhost.site} (${vhost.where})`) : UNEXPLAINED };
  }
}
