/**
 * Both directions of one flow through a routed dom0: a client (on the
 * uplink's subnet, or behind the uplink's router) opens TCP or UDP to a
 * guest address:port; the request must be delivered and the reply must come
 * back. Each step is a hop with its outcome and a sentence saying why.
 */
import { inCidr, ipNum, ipText, networkOf } from "./ip";
import { combine, counted, decide, doubtText, Hop, Outcome, Stage } from "./outcome";
import type { FirewallPath } from "./nftables";
import type { FirewallVerdict, Packet } from "./packet";
import { LOCAL, RouteChoice, Routing } from "./routing";
import { apacheServes } from "./apache";
import type { Dom0State, GuestState, Guests } from "./hosts";
import type { KernelSettings, Possible } from "./sysctl";

/** A flow to prove: from a client address to a guest address and port. */
/** A flow to ask the model about: a client, a guest address and port, both directions. */
export interface FlowQuestion {
  /**
   * Transport protocol.
   * @default "tcp"
   */
  readonly protocol?: "tcp" | "udp";
  /** The client's address: on the uplink's subnet, or any address behind the uplink's router. */
  readonly from: string;
  /** The guest address asked for. */
  readonly to: string;
  /** The destination port. */
  readonly port: number;
  /**
   * The client's source port.
   * @default 40000
   */
  readonly sourcePort?: number;
  /**
   * Also require Apache in the guest to listen on `to:port` (ports.conf) with
   * a virtual host for it (sites-available).
   * @default false
   */
  readonly apache?: boolean;
}

/** The model's answer to a flow question: both directions, and the hops that led there. */
export interface FlowVerdict {
  /** The question answered. */
  readonly question: FlowQuestion;
  /** The request: delivered to the guest (and to Apache, when asked), dropped, or unknown. */
  readonly forward: "delivered" | "dropped" | "unknown";
  /** The reply: back at the client, dropped, unknown, or never sent (the request did not arrive). */
  readonly reply: "returned" | "dropped" | "unknown" | "not sent";
  /** Delivered and returned. */
  readonly ok: boolean;
  /** Every hop of the request and the reply, in order. */
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
  /** The firewalls' check, unknown: what leaves it undecided (FirewallVerdict.undecidedBy). */
  readonly undecidedBy?: string;
}

/** One hop of a flow's path that reads no port. */
interface PathStep {
  readonly host: string;
  readonly stage: Stage;
  readonly check: Check;
}

/**
 * The hops of a flow that depend on its addresses alone (routes, ARP,
 * rp_filter, forwarding), in three runs; the firewalls and Apache, which read
 * ports, are asked between them. A run ends at its first drop.
 */
interface Path {
  /** Into the dom0, up to its firewall. */
  readonly inbound: readonly PathStep[];
  /** The request ends in the dom0 before its firewall, as `dropped` or `unknown`. */
  readonly stop?: "dropped" | "unknown";
  /** The vif the dom0 routes the request to. */
  readonly vifDev?: string;
  /** Into the guest, past the dom0's firewall. */
  readonly intoGuest: readonly PathStep[];
  /** The guest, when its files are in the model and the request reached it. */
  readonly guest?: GuestState;
  /** The guest's interface the request comes in by, and the one its reply leaves by (once known). */
  readonly guestDev?: string;
  readonly replyDev?: string;
  /** The reply, from the guest to the dom0's firewall. */
  readonly back: readonly PathStep[];
  /** The vif the reply comes in by, when it reaches the dom0's firewall. */
  readonly backVif?: string;
  /**
   * Why the routes and addresses the path was worked out from may be other
   * than the model read (lines of the guest's or the dom0's network files it
   * cannot read), when they may: the reply's checks at the dom0 read them.
   */
  readonly doubt?: string;
  /** The same, for the dom0's routes alone: what the request's checks at the dom0 read. */
  readonly dom0Doubt?: string;
}

/** The checks of a verdict-only evaluation, one per outcome: they carry no sentence. */
const QUIET: Readonly<Record<Outcome, Check>> = { pass: { outcome: "pass", text: UNEXPLAINED }, drop: { outcome: "drop", text: UNEXPLAINED }, unknown: { outcome: "unknown", text: UNEXPLAINED } };

/** A check with its sentence; while not explaining, the shared one of its outcome. */
function check(outcome: Outcome, text: () => string): Check {
  return text === UNEXPLAINED ? QUIET[outcome] : { outcome, text };
}

/**
 * A check that read routes or addresses of a host whose network files hold
 * lines the model cannot read (`doubt` says which): a drop is unknown, as
 * those lines may change what it read. A pass or an unknown is as it was.
 */
function doubted(c: Check, doubt: string | undefined): Check {
  if (doubt === undefined || c.outcome !== "drop") return c;
  return explaining ? { outcome: "unknown", text: () => `${c.text()}; but ${doubt}` } : QUIET.unknown;
}

/** Two checks that must both pass: a drop in either drops. */
function both(a: Outcome, b: Outcome): Outcome {
  return a === "drop" || b === "drop" ? "drop" : a === "unknown" || b === "unknown" ? "unknown" : "pass";
}

/** Which way a packet crosses the dom0's forward hook, for the firewall's words. */
function forwardText(p: Packet): string {
  return `FORWARD ${p.iif} -> ${p.oif}, ${p.state === "NEW" ? "new connection" : "reply (established)"}`;
}

/**
 * Reverse-path filter of a packet from `src` coming in on `iface`, for our
 * address `local`: the kernel looks up the route back to `src` (from
 * `local`); strict wants it to leave by `iface`, loose wants one at all.
 */
function reversePath(routing: Routing, kernel: KernelSettings, iface: string, src: number, local: number): Check {
  const rp = kernel.conf(iface, "rp_filter");
  const back = routing.lookup(src, local);
  const via = back && back.table !== LOCAL ? back.route.dev : undefined;
  // Counted here, with no closure: the proof asks this thousands of times; the sentences are made apart.
  let pass = 0;
  for (let i = 0; i < rp.values.length; i++) if (reversePathPasses(rp.values[i], via, iface)) pass++;
  const outcome = counted(pass, rp.values.length - pass, rp.values.length);
  return explaining ? explainReversePath(outcome, rp, back, via, iface, src) : QUIET[outcome];
}

/** Whether rp_filter mode `v` lets a packet in on `iface` pass when the route back leaves by `via`. */
function reversePathPasses(v: number, via: string | undefined, iface: string): boolean {
  return v === 0 || (via !== undefined && (v === 2 || via === iface));
}

/** A reverse-path check with its sentence (while explaining). */
function explainReversePath(outcome: Outcome, rp: Possible, back: RouteChoice | undefined, via: string | undefined, iface: string, src: number): Check {
  const route = (): string => (via === undefined ? `there is no route back to ${ipText(src)}` : `${ipText(src)} is routed via ${via} (${back!.how})`);
  const modes = (): string => rp.values.map((v) => MODE[v] ?? String(v)).join(" or ");
  if (outcome === "drop") return check(outcome, () => `in on ${iface}, ${modes()} rp_filter drops it: ${route()}; rp_filter ${rp.why}`);
  if (outcome === "unknown") return check(outcome, () => `in on ${iface}, rp_filter may be ${modes()} (${rp.why}): ${route()}, which ${rp.values.map((v) => `${MODE[v]} ${reversePathPasses(v, via, iface) ? "lets pass" : "drops"}`).join(", ")}`);
  const off = rp.values.every((v) => v === 0);
  return check(outcome, () => `in on ${iface}, ${modes()} rp_filter lets it pass: ${off ? "no check" : route()}${off ? `; rp_filter ${rp.why}` : ""}`);
}

/**
 * Whether the guest answers the dom0's ARP request for `target` on `dev`:
 * the verdict, counted in loops with nothing made per call (the proof asks
 * it of every path); guestAnswersArp words it.
 */
function guestArpOutcome(guest: GuestState, dev: string, sender: number, target: number): Outcome {
  if (!guest.routing.hasAddressOn(dev)) return "drop";
  const rp = reversePath(guest.routing, guest.kernel, dev, sender, target).outcome;
  if (rp === "drop") return "drop";
  const on = guest.routing.addressOn(target, dev);
  const anywhere = guest.routing.localDev(target);
  const ignore = guest.kernel.conf(dev, "arp_ignore").values;
  let pass = 0;
  for (let i = 0; i < ignore.length; i++) {
    const v = ignore[i];
    if (v === 0 ? anywhere !== undefined : v === 1 ? on !== undefined : v === 2 ? on !== undefined && inCidr(networkOf(on.address, on.prefix), sender) : false) pass++;
  }
  return both(both(counted(pass, ignore.length - pass, ignore.length), rp), arpFilterOutcome(guest.routing, guest.kernel, dev, sender, target));
}

/**
 * arp_filter on `dev`: with it on, the kernel answers an ARP request for its
 * own address `target` only if its route to the sender, from `target`,
 * leaves by `dev` (Linux arp_filter()); off, it passes.
 */
function arpFilterOutcome(routing: Routing, kernel: KernelSettings, dev: string, sender: number, target: number): Outcome {
  const filter = kernel.conf(dev, "arp_filter").values;
  if (filter.length === 1 && filter[0] === 0) return "pass";
  const back = routing.lookup(sender, target);
  const leaves = back !== undefined && back.table !== LOCAL && back.route.dev === dev;
  return decide(filter, (v) => v === 0 || leaves);
}

/** arp_filter's part of an ARP check, in words: nothing when it is off. */
function arpFilterText(routing: Routing, kernel: KernelSettings, dev: string, sender: number, target: number): string {
  const filter = kernel.conf(dev, "arp_filter");
  if (filter.values.length === 1 && filter.values[0] === 0) return "";
  const back = routing.lookup(sender, target);
  const route = back === undefined ? `there is no route to ${ipText(sender)}` : `its route to ${ipText(sender)} from ${ipText(target)} leaves by ${back.table === LOCAL ? "lo" : back.route.dev} (${back.how})`;
  return `; arp_filter ${filter.why}: ${route}`;
}

/** Whether the dom0 answers the guest's ARP request for its next hop on `vif`: the verdict (dom0AnswersArp words it). */
function dom0ArpOutcome(d: Dom0State, guest: GuestState, dev: string, vif: string, nextHop: number, replySrc: number): Outcome {
  const senders = arpSenders(guest, dev, guest.kernel.conf(dev, "arp_announce").values, nextHop, replySrc);
  let pass = 0;
  let drop = 0;
  for (let i = 0; i < senders.length; i++) {
    const o = dom0AnswersFor(d, vif, senders[i], nextHop);
    if (o === "pass") pass++;
    else if (o === "drop") drop++;
  }
  return counted(pass, drop, senders.length);
}

/**
 * The address the guest asks from on `dev`, for each arp_announce it may
 * have: the reply's source, or the primary address of `dev` (the first in
 * the next hop's subnet, else the first).
 */
function arpSenders(guest: GuestState, dev: string, announce: readonly number[], nextHop: number, replySrc: number): number[] {
  let primary: number | undefined;
  let first: number | undefined;
  let onlink = false;
  const addresses = guest.routing.addresses;
  for (let i = 0; i < addresses.length; i++) {
    const a = addresses[i];
    if (a.dev !== dev) continue;
    first ??= a.address;
    const net = networkOf(a.address, a.prefix);
    if (inCidr(net, nextHop)) {
      primary ??= a.address;
      if (inCidr(net, replySrc)) onlink = true;
    }
  }
  primary ??= first;
  const senders: number[] = [];
  for (let i = 0; i < announce.length; i++) senders.push(announce[i] === 0 || (announce[i] === 1 && onlink) ? replySrc : (primary ?? replySrc));
  return senders;
}

/** Whether the dom0 answers, on `vif`, an ARP request for `nextHop` sent from `sender`. */
function dom0AnswersFor(d: Dom0State, vif: string, sender: number, nextHop: number): Outcome {
  const rp = reversePath(d.routing, d.kernel, vif, sender, nextHop).outcome;
  if (rp === "drop") return "drop";
  if (d.routing.addressOn(nextHop, vif) !== undefined) return both(both(decide(d.kernel.conf(vif, "arp_ignore").values, ignoreAnswers), rp), arpFilterOutcome(d.routing, d.kernel, vif, sender, nextHop));
  const back = d.routing.lookup(nextHop);
  return both(back && back.route.dev !== vif ? decide(d.kernel.conf(vif, "proxy_arp").values, isOn) : "drop", rp);
}

const ignoreAnswers = (v: number): boolean => v <= 1;
const isOn = (v: number): boolean => v !== 0;

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
    if (!this.explained) {
      const e = this.explain();
      // Both evaluations walk the same rules (the verdict-only one with nothing made per packet): a trace that
      // contradicted its verdict would be a bug here, never something to print.
      if (e.forward !== this.forward || e.reply !== this.reply) {
        const q = this.question;
        throw new Error(`cdktf-xen: the reachability model gave ${q.protocol ?? "tcp"} ${q.from} -> ${q.to}:${q.port} the verdict ${this.forward}/${this.reply}, and its trace says ${e.forward}/${e.reply}; this is a bug in cdktf-xen`);
      }
      this.explained = e;
    }
    return this.explained;
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

/** The hops of a verdict-only evaluation: none (shared; only an explaining evaluation adds hops, to a list of its own). */
const NO_HOPS: Hop[] = [];

/** The hops of one evaluation (while explaining) and how many dropped or stayed unknown, request and reply apart. */
class Tally {
  private readonly hops: Hop[] = explaining ? [] : NO_HOPS;
  private drops = 0;
  private unknowns = 0;
  /** The request's outcome, once the reply starts. */
  private forward: Outcome = "pass";

  constructor(private readonly q: FlowQuestion) {}

  /** Counts a check; false when it drops. */
  add(host: string, stage: Stage, c: Check): boolean {
    if (explaining) this.hops.push(c.undecidedBy === undefined ? { host, stage, outcome: c.outcome, text: c.text() } : { host, stage, outcome: c.outcome, text: c.text(), undecidedBy: c.undecidedBy });
    if (c.outcome === "drop") this.drops++;
    else if (c.outcome === "unknown") this.unknowns++;
    return c.outcome !== "drop";
  }

  /** Counts the steps of a run up to the first that drops; false when one does. */
  walk(steps: readonly PathStep[]): boolean {
    for (let i = 0; i < steps.length; i++) if (!this.add(steps[i].host, steps[i].stage, steps[i].check)) return false;
    return true;
  }

  /** The request is through: what follows is the reply. */
  replying(): void {
    this.forward = this.drops ? "drop" : this.unknowns ? "unknown" : "pass";
    this.drops = 0;
    this.unknowns = 0;
  }

  /** The verdict once the reply is done. */
  done(): FlowVerdict {
    const r: Outcome = this.drops ? "drop" : this.unknowns ? "unknown" : "pass";
    const forward = this.forward;
    return this.finish(forward === "pass" ? "delivered" : "unknown", r === "pass" ? (forward === "pass" ? "returned" : "unknown") : r === "drop" ? "dropped" : "unknown");
  }

  finish(forward: FlowVerdict["forward"], reply: FlowVerdict["reply"]): FlowVerdict {
    const { q, hops } = this;
    const ok = forward === "delivered" && reply === "returned";
    if (!explaining) return { question: q, forward, reply, ok, hops: NO_HOPS, summary: "" };
    const failure = hops.find((h) => h.outcome === "drop") ?? hops.find((h) => h.outcome === "unknown");
    const title = `${q.protocol ?? "tcp"} ${q.from} -> ${q.to}:${q.port}`;
    // Where a reply left the guest, when it failed at the dom0: the cause is often there.
    const at = failure ? hops.indexOf(failure) : -1;
    const route = hops.slice(0, Math.max(at, 0)).reverse().find((h) => h.stage === "route");
    const before = route && route.host !== failure!.host && route.text.startsWith("reply from") ? `${route.text}; ` : "";
    const summary = ok
      ? `${title}: delivered and the reply returns`
      : `${title}: ${forward !== "delivered" ? `request ${forward}` : `reply ${reply}`} at ${failure!.host} (${failure!.stage}): ${before}${failure!.text}`;
    return { question: q, forward, reply, ok, hops, failure, summary };
  }
}

/** The files hold no firewall of the dom0's. */
const NO_FIREWALL = "the files hold no firewall (rules.v4 or an nftables file)";

/**
 * The dom0's firewalls on `path` for `p`, in words (Firewalls.verdict); with
 * no firewall in its files, unknown: a dom0 is meant to filter.
 */
export function dom0Firewalls(d: Dom0State, path: FirewallPath, p: Packet): FirewallVerdict {
  if (!d.firewalls.present) return { outcome: "unknown", text: `${NO_FIREWALL}, so what the dom0 filters is not known`, undecidedBy: NO_FIREWALL };
  return d.firewalls.verdict(path, p);
}

/** Whether `n` is a port number: an integer from 1 to 65535. */
export function isPort(n: unknown): boolean {
  return Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
}

/** A value as a message names it: numbers as they are, anything else as JSON (a string in quotes). */
function shown(v: unknown): string {
  return typeof v === "number" ? String(v) : JSON.stringify(v);
}

export class FlowEvaluator {
  constructor(
    private readonly dom0: Dom0State,
    private readonly guests: Guests,
  ) {
    // A path holds the guest it reaches: it goes when the guest does.
    guests.onDropped((vifs) => {
      for (const v of vifs) for (const ip of v.ips) this.paths.delete(ip);
    });
  }

  /** Both directions of a flow, without hops or summary: what the proof at synth asks of thousands of flows. */
  outcome(q: FlowQuestion): Pick<FlowVerdict, "forward" | "reply" | "ok"> {
    return this.run(q);
  }

  /**
   * The dom0's forward firewalls for a client's new ICMP echo request (ping),
   * in by the uplink, to a guest address, with the words of each firewall that
   * decides; undefined when the dom0 routes the address to no guest's vif.
   */
  ping(src: number, dst: number): FirewallVerdict | undefined {
    const d = this.dom0;
    const up = d.uplink.device;
    const route = d.routing.lookup(dst, src, up);
    if (!route || route.table === LOCAL || !d.vifs.has(route.route.dev)) return undefined;
    const p: Packet = { src, dst, protocol: "icmp", sport: 0, dport: 0, iif: up, oif: route.route.dev, state: "NEW" };
    const v = dom0Firewalls(d, "forward", p);
    return { ...v, text: `${forwardText(p)}: ${v.text}` };
  }

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
    const protocol = q.protocol ?? "tcp";
    const sport = q.sourcePort ?? 40000;
    const src = ipNum(q.from);
    const dst = ipNum(q.to);
    if (src === undefined || dst === undefined) throw new Error(`flow ${q.from} -> ${q.to}: expected IPv4 addresses`);
    if (protocol !== "tcp" && protocol !== "udp") throw new Error(`flow ${q.from} -> ${q.to}: protocol ${JSON.stringify(protocol)}: expected "tcp" or "udp"`);
    if (!isPort(q.port)) throw new Error(`flow ${q.from} -> ${q.to}: port ${shown(q.port)}: expected an integer from 1 to 65535`);
    if (!isPort(sport)) throw new Error(`flow ${q.from} -> ${q.to}: sourcePort ${shown(sport)}: expected an integer from 1 to 65535`);
    const d = this.dom0;
    const dom0 = d.input.id;
    const up = d.uplink.device;
    const t = new Tally(q);
    const path = this.path(q, src, dst);

    // The request: into the dom0, through its firewall, into the guest.
    if (!t.walk(path.inbound)) return t.finish("dropped", "not sent");
    if (path.stop) return t.finish(path.stop, "not sent");
    if (!t.add(dom0, "firewall", doubted(this.firewall({ src, dst, protocol, sport, dport: q.port, iif: up, oif: path.vifDev!, state: "NEW" }), path.dom0Doubt))) return t.finish("dropped", "not sent");
    if (!t.walk(path.intoGuest)) return t.finish("dropped", "not sent");
    const guest = path.guest;
    if (guest === undefined) return t.finish("unknown", "not sent");
    if (guest.firewalls && !t.add(guest.name, "firewall", this.guestFirewall(guest, "input", { src, dst, protocol, sport, dport: q.port, iif: path.guestDev!, oif: "", state: "NEW" }))) return t.finish("dropped", "not sent");
    if (q.apache && !t.add(guest.name, "listen", this.apache(guest, dst, q.port))) return t.finish("dropped", "not sent");

    // The reply, from the guest (through its own firewall, when it has one) back through the dom0's firewall to the client.
    t.replying();
    if (this.walkBack(t, path, guest, { src: dst, dst: src, protocol, sport: q.port, dport: sport, iif: "", oif: path.replyDev ?? "", state: "ESTABLISHED" }) && path.backVif !== undefined) {
      // Were the request dropped, there would be no reply; so the reply belongs to a tracked connection.
      t.add(dom0, "firewall", doubted(this.firewall({ src: dst, dst: src, protocol, sport: q.port, dport: sport, iif: path.backVif, oif: up, state: "ESTABLISHED" }), path.doubt));
    }
    return t.done();
  }

  /**
   * The reply's hops up to the dom0's firewall: the guest's route, then its
   * own firewall's output path, when it has one, then the dom0's hops; false
   * when one drops.
   */
  private walkBack(t: Tally, path: Path, guest: GuestState, reply: Packet): boolean {
    if (!guest.firewalls) return t.walk(path.back);
    const back = path.back;
    let i = 0;
    for (; i < back.length && back[i].host === guest.name; i++) if (!t.add(back[i].host, back[i].stage, back[i].check)) return false;
    // The reply leaves the guest only once it has a way out: a route, through the interface it names.
    if (path.replyDev !== undefined && !t.add(guest.name, "firewall", doubted(this.guestFirewall(guest, "output", reply), path.doubt))) return false;
    for (; i < back.length; i++) if (!t.add(back[i].host, back[i].stage, back[i].check)) return false;
    return true;
  }

  /**
   * The hops of a flow that depend on its two addresses alone, worked out
   * once per pair while not explaining (the proof asks several ports of each).
   */
  private path(q: FlowQuestion, src: number, dst: number): Path {
    if (explaining) return this.walkPath(q, src, dst);
    let bySrc = this.paths.get(dst);
    if (!bySrc) this.paths.set(dst, (bySrc = new Map()));
    let p = bySrc.get(src);
    if (!p) bySrc.set(src, (p = this.walkPath(q, src, dst)));
    return p;
  }
  private readonly paths = new Map<number, Map<number, Path>>();

  private walkPath(q: FlowQuestion, src: number, dst: number): Path {
    const d = this.dom0;
    const dom0 = d.input.id;
    const up = d.uplink.device;
    const inbound: PathStep[] = [];
    const intoGuest: PathStep[] = [];
    const back: PathStep[] = [];
    const step = (list: PathStep[], host: string, stage: Stage, check: Check) => {
      list.push({ host, stage, check });
      return check.outcome !== "drop";
    };
    let guestDev: string | undefined;
    let replyDev: string | undefined;
    // A line of the dom0's interfaces file the model cannot read leaves its routes open; one of the guest's, the guest's.
    const dom0Doubt = d.doubts.routing.length ? doubtText(d.doubts.routing) : undefined;
    let routingDoubt: string | undefined;
    const partial = (stop?: Path["stop"], vifDev?: string, guest?: GuestState, backVif?: string): Path => ({ inbound, intoGuest, back, stop, vifDev, guest, guestDev, replyDev, backVif, doubt: routingDoubt ?? dom0Doubt, dom0Doubt });

    // The request, into the dom0.
    const onLink = inCidr(d.uplink.net, src);
    const route = d.routing.lookup(dst, src, up);
    if (!route || route.table === LOCAL || route.route.dev === up || !d.vifs.has(route.route.dev)) {
      const vifDoubt = doubtText(dom0Doubt ? [...d.doubts.vifs, ...d.doubts.routing] : d.doubts.vifs);
      const why = !route ? "the dom0 has no route to it" : route.table === LOCAL ? `${q.to} is the dom0's own address` : `the dom0 routes it via ${route.route.dev}, not a guest's vif (${route.how}): no vif of the xl configs has ip=${q.to}`;
      step(inbound, dom0, "route", check(vifDoubt ? "unknown" : "drop", explaining ? () => (`${q.to}: ${why}${vifDoubt ? `; ${vifDoubt}` : ""}`) : UNEXPLAINED));
      return partial(vifDoubt ? "unknown" : "dropped");
    }
    const vifDev = route.route.dev;
    const vif = d.vifs.get(vifDev)!;
    // Whoever is on the uplink's subnet (the client, or the router in front of it) asks who has the guest's address.
    const proxy = d.kernel.conf(up, "proxy_arp");
    if (!step(inbound, dom0, "arp", check(
      decide(proxy.values, (v) => v !== 0),
      explaining ? () => (`${onLink ? `client ${q.from} (on ${up}'s subnet)` : "the uplink's router"} asks on ${up} who has ${q.to}: ${proxy.values.every((v) => v) ? "the dom0 answers by proxy ARP" : proxy.values.some((v) => v) ? "the dom0 may answer by proxy ARP" : "no proxy ARP answers"} (proxy_arp ${proxy.why}; it routes ${q.to} via ${vifDev})`) : UNEXPLAINED,
    ))) return partial("dropped");
    if (!step(inbound, dom0, "rp_filter", doubted(reversePath(d.routing, d.kernel, up, src, dst), dom0Doubt))) return partial("dropped");
    const fwd = d.kernel.ipForward();
    if (!step(inbound, dom0, "forwarding", check(decide(fwd.values, (v) => v !== 0), explaining ? () => (`ip_forward ${fwd.why}`) : UNEXPLAINED))) return partial("dropped");
    step(inbound, dom0, "route", check(dom0Doubt ? "unknown" : "pass", explaining ? () => (`route to ${q.to}: ${route.how}${dom0Doubt ? `; but ${dom0Doubt}` : ""}`) : UNEXPLAINED));

    // Into the guest (after the dom0's firewall).
    const guest = this.guests.get(vif.guest);
    if (!guest) {
      step(intoGuest, vif.guest, "deliver", check("unknown", explaining ? () => (`the files of guest ${vif.guest} are not in the model`) : UNEXPLAINED));
      return partial(undefined, vifDev);
    }
    const device = guest.devices.get(vif.index)!;
    guestDev = device.dev;
    const g = guest.name;
    routingDoubt = doubtText(guest.unreadable);
    if (!step(intoGuest, g, "arp", doubted(this.guestAnswersArp(guest, device.dev, d.uplink.address, dst, explaining ? () => `${vifDev} is ${device.dev} in the guest (${device.where})` : UNEXPLAINED), routingDoubt))) return partial(undefined, vifDev, guest);
    if (!step(intoGuest, g, "rp_filter", doubted(reversePath(guest.routing, guest.kernel, device.dev, src, dst), routingDoubt))) return partial(undefined, vifDev, guest);
    const local = guest.routing.localDev(dst);
    if (!step(intoGuest, g, "deliver", check(
      local ? (routingDoubt ? "unknown" : "pass") : routingDoubt ? "unknown" : "drop",
      explaining ? () => (local ? `${q.to} is the guest's own (on ${local})${routingDoubt ? `; but ${routingDoubt}` : ""}` : `${q.to} is not an address of the guest${routingDoubt ? `; ${routingDoubt}` : ""}`) : UNEXPLAINED,
    ))) return partial(undefined, vifDev, guest);

    // The reply, from the guest back to the dom0, up to its firewall.
    const out = guest.routing.lookup(src, dst);
    if (!out || out.table === LOCAL) {
      step(back, g, "route", check(routingDoubt ? "unknown" : "drop", explaining ? () => (`reply from ${q.to} to ${q.from}: the guest has no route back${routingDoubt ? `; ${routingDoubt}` : ""}`) : UNEXPLAINED));
      return partial(undefined, vifDev, guest);
    }
    const leaves = out.route.dev;
    replyDev = leaves;
    // Routes added in an order the files do not give: the reply leaves by whichever came first.
    const rivals = guest.routing.unorderedBecause ? out.rivals : [];
    if (rivals.length) {
      step(back, g, "route", check("unknown", explaining ? () => (`reply from ${q.to} leaves the guest by ${[leaves, ...rivals].join(" or ")}: ${out.how.replace(/: [^:]*$/, "")} has as good a route on each, and which was added first is not known (${guest.routing.unorderedBecause})`) : UNEXPLAINED));
      return partial(undefined, vifDev, guest);
    }
    step(back, g, "route", check(routingDoubt ? "unknown" : "pass", explaining ? () => (`reply from ${q.to} leaves the guest by ${leaves} (${out.how})${routingDoubt ? `; but ${routingDoubt}` : ""}`) : UNEXPLAINED));
    const index = guest.vifOf(leaves);
    const backVif = index === undefined ? undefined : d.vifOf(vif.guest, index);
    if (!backVif) {
      step(back, g, "route", doubted(check("drop", explaining ? () => (`${leaves} is not one of the guest's vifs: the reply never reaches the dom0`) : UNEXPLAINED), routingDoubt));
      return partial(undefined, vifDev, guest);
    }
    const nextHop = out.route.via ?? src;
    // From here the checks read where the guest's route sent the reply, and the dom0's routes.
    const doubt = routingDoubt ?? dom0Doubt;
    if (!step(back, dom0, "arp", doubted(this.dom0AnswersArp(guest, leaves, backVif.dev, nextHop, dst, out), doubt))) return partial(undefined, vifDev, guest);
    const rp = reversePath(d.routing, d.kernel, backVif.dev, dst, src);
    if (!step(back, dom0, "rp_filter", doubted(check(rp.outcome, explaining ? () => (`reaches the dom0 on ${backVif.dev}; ${rp.text()}`) : UNEXPLAINED), doubt))) return partial(undefined, vifDev, guest);
    const toClient = d.routing.lookup(src, dst, backVif.dev);
    if (!toClient || toClient.route.dev !== up) {
      step(back, dom0, "route", check(doubt ? "unknown" : "drop", explaining ? () => (`the dom0 routes ${q.from} via ${toClient ? `${toClient.route.dev} (${toClient.how})` : "nothing"}, not the uplink${doubt ? `; ${doubt}` : ""}`) : UNEXPLAINED));
      return partial(undefined, vifDev, guest);
    }
    step(back, dom0, "route", check(dom0Doubt ? "unknown" : "pass", explaining ? () => (`route to ${q.from}: ${toClient.how}${dom0Doubt ? `; but ${dom0Doubt}` : ""}`) : UNEXPLAINED));
    return partial(undefined, vifDev, guest, backVif.dev);
  }

  /** The dom0's forward-hook firewalls, as a check. */
  private firewall(p: Packet): Check {
    if (!explaining) return QUIET[this.firewallOutcome(p)];
    const v = dom0Firewalls(this.dom0, "forward", p);
    return { outcome: v.outcome, text: () => `${forwardText(p)}: ${v.text}`, undecidedBy: v.outcome === "unknown" ? v.undecidedBy : undefined };
  }

  /** What the dom0's forward-path firewalls do with `p`, as dom0Firewalls decides it, with nothing made per packet (the proof asks twice per flow). */
  private firewallOutcome(p: Packet): Outcome {
    const f = this.dom0.firewalls;
    return f.present ? f.outcome("forward", p) : "unknown";
  }

  /** The guest's own firewalls on `path` (to it, or sent by it), as a check; none filter nothing. */
  private guestFirewall(guest: GuestState, path: FirewallPath, p: Packet): Check {
    const f = guest.firewalls!;
    if (!explaining) return QUIET[f.outcome(path, p)];
    const v = f.verdict(path, p);
    const way = `${path === "input" ? `in on ${p.iif}` : `out by ${p.oif}`}, ${p.state === "NEW" ? "new connection" : "reply (established)"}`;
    return { outcome: v.outcome, text: () => `${path.toUpperCase()} ${way}: ${v.text}`, undecidedBy: v.outcome === "unknown" ? v.undecidedBy : undefined };
  }

  /** The dom0 asks, on the vif, who has the guest address; the guest answers on `dev`? */
  private guestAnswersArp(guest: GuestState, dev: string, sender: number, target: number, naming: () => string): Check {
    if (!explaining) return QUIET[guestArpOutcome(guest, dev, sender, target)];
    const on = guest.routing.addressOn(target, dev);
    const anywhere = guest.routing.localDev(target);
    const ignore = guest.kernel.conf(dev, "arp_ignore");
    if (!guest.routing.hasAddressOn(dev)) return check("drop", () => `the dom0 asks who has ${ipText(target)}: ${naming()}, which the guest's files do not bring up`);
    const rp = reversePath(guest.routing, guest.kernel, dev, sender, target);
    const outcome = guestArpOutcome(guest, dev, sender, target);
    const where = () => (on ? `${ipText(target)} is on ${dev}` : anywhere ? `${ipText(target)} is on ${anywhere}, not ${dev}` : `${ipText(target)} is on no interface of the guest`);
    if (rp.outcome === "drop") return check("drop", () => `the dom0 asks who has ${ipText(target)}: ${naming()}; the guest does not answer: ${rp.text()}`);
    return check(outcome, () => `the dom0 asks who has ${ipText(target)}: ${naming()}; ${where()}, ${outcome === "pass" ? "the guest answers" : outcome === "drop" ? "the guest does not answer" : "the guest may answer"} (arp_ignore ${ignore.why}${arpFilterText(guest.routing, guest.kernel, dev, sender, target)})`);
  }

  /** The guest asks, on `dev`, who has the next hop; the dom0 answers on its vif? */
  private dom0AnswersArp(guest: GuestState, dev: string, vif: string, nextHop: number, replySrc: number, out: RouteChoice): Check {
    const d = this.dom0;
    if (!explaining) return QUIET[dom0ArpOutcome(d, guest, dev, vif, nextHop, replySrc)];
    const announce = guest.kernel.conf(dev, "arp_announce");
    const senders = arpSenders(guest, dev, announce.values, nextHop, replySrc);
    const results = senders.map((s): Check => {
      const o = dom0AnswersFor(d, vif, s, nextHop);
      const rp = reversePath(d.routing, d.kernel, vif, s, nextHop);
      if (rp.outcome === "drop") return check("drop", () => `the dom0 ignores the ARP request from ${ipText(s)}: ${rp.text()}`);
      if (d.routing.addressOn(nextHop, vif) !== undefined) {
        const ig = d.kernel.conf(vif, "arp_ignore");
        return check(o, () => `${ipText(nextHop)} is the dom0's address on ${vif}, ${o === "pass" ? "it answers" : o === "drop" ? "it does not answer" : "it may not answer"} (arp_ignore ${ig.why}${arpFilterText(d.routing, d.kernel, vif, s, nextHop)})`);
      }
      const back = d.routing.lookup(nextHop);
      const proxy = d.kernel.conf(vif, "proxy_arp");
      return check(o, () => `the dom0 ${o === "pass" ? "answers" : "does not answer"} by proxy ARP on ${vif} (proxy_arp ${proxy.why}; it routes ${ipText(nextHop)} via ${back?.route.dev ?? "nothing"})`);
    });
    const outcome = combine(results.map((r) => r.outcome));
    const asks = () => `the guest asks on ${dev} who has ${ipText(nextHop)} (${out.route.via !== undefined ? "its gateway" : "on-link"}), as ${[...new Set(senders.map(ipText))].join(" or ")} (arp_announce ${announce.why})`;
    const shown = results.find((r) => r.outcome === outcome) ?? results[0];
    return check(outcome, () => `${asks()}; ${shown.text()}`);
  }

  /** Whether Apache listens on `dst:port` and a `<VirtualHost>` serves it (apacheServes), as a check. */
  private apache(guest: GuestState, dst: number, port: number): Check {
    const a = guest.apache;
    if (!a) return check("drop", explaining ? () => ("the guest's files have no Apache configuration (apache2.conf or ports.conf)") : UNEXPLAINED);
    const { outcome, listen, vhost, doubt } = apacheServes(a, dst, port);
    if (!explaining) return QUIET[outcome];
    const socket = `${ipText(dst)}:${port}`;
    const listens = listen ? `Apache listens on ${socket} (${listen.where})` : `Apache does not listen on ${socket} (${a.listensFrom === "configuration" ? "no Listen in its configuration matches it" : "ss -Hltnp shows no socket of Apache's for it"})`;
    if (outcome === "pass") return check(outcome, () => `${listens}, site ${vhost!.site} (${vhost!.where})`);
    if (outcome === "drop") return check(outcome, () => (listen ? `${listens} but no site has a <VirtualHost> for it` : listens));
    const served = vhost ? `site ${vhost.site} (${vhost.where})` : "no site has a <VirtualHost> for it";
    return check(outcome, () => `${listen?.maybe !== undefined ? listens.replace("Apache listens", "Apache may listen") : listens}, ${served}; ${doubt}`);
  }
}
