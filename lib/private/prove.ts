/**
 * The proof run at synth: every WebVhost address:port and every port a
 * ForwardRule opens is asked of the reachability model, read from the very
 * files the dom0 and its guests receive, in both directions; one port no
 * rule opens must be dropped. What fails is reported with the construct
 * path and the first failing hop.
 */
import type { IConstruct } from "constructs";
import type { ForwardAcceptModel } from "../model";
import type { FlowQuestion, FlowVerdict, ModelInput } from "../reachability";
import { clientIn, outsideClients, Reachability } from "../reachability";
import { ipNum, ipText, parseCidr } from "../reachability/ip";
import type { XenHost } from "../xen-host";
import { type ProofCache, proofKey } from "./proof-cache";

/** Context key: `false` skips the proof at synth (with a warning). */
export const PROVE_CONTEXT_KEY = "cdktf-xen:prove";

/** A question the proof asks, with what must come of it and whom to blame. */
export interface Obligation {
  /** Construct path named in the error. */
  readonly path: string;
  readonly question: FlowQuestion;
  /** `open`: delivered and the reply returns; `closed`: the request is dropped. */
  readonly expect: "open" | "closed";
  /** What is being proven, e.g. `vhost site-a on 192.0.2.200:443`. */
  readonly what: string;
}

/** What the model of one dom0 reads: the files its constructs render. */
export function dom0ModelInput(dom0: XenHost): ModelInput {
  const files = (list: readonly { path: string; content: string }[]) => {
    const out: Record<string, string> = {};
    for (const f of list) out[f.path] = f.content;
    return out;
  };
  return {
    dom0: { id: dom0.hostId, uplink: { device: dom0.uplink.device, address: `${dom0.uplink.address.address}/${dom0.uplink.address.prefix}` }, files: files(dom0._hostFiles()) },
    guests: Object.fromEntries(dom0.guests.map((g) => [g.name, files(g._hostFiles())])),
  };
}

/**
 * Client addresses standing for `source` (a CIDR): for any address, one on
 * the uplink's subnet and one behind its router; else the first address of
 * the network that no host of the dom0 uses.
 */
function clients(dom0: XenHost, source: string, taken: ReadonlySet<number>): string[] {
  const up = dom0.uplink.address;
  if (source === "0.0.0.0/0") {
    const { near, far } = outsideClients(parseCidr(`${up.address}/${up.prefix}`)!, taken);
    return [near, far].filter((n): n is number => n !== undefined).map(ipText);
  }
  const first = clientIn(parseCidr(source)!, taken);
  return first === undefined ? [] : [ipText(first)];
}

/** Whether one of `ranges` holds `port`. */
export function opens(ranges: readonly { readonly from: number; readonly to: number }[], port: number): boolean {
  for (let i = 0; i < ranges.length; i++) if (port >= ranges[i].from && port <= ranges[i].to) return true;
  return false;
}

/** The source of a socket no rule opens: outside. */
const ANYWHERE = ["0.0.0.0/0"];

/** Ports tried, in order, for the port of a guest that must be dropped: the first no tcp accept of it opens. */
export const CLOSED_CANDIDATES = [22, 2222, 65000];

/**
 * Everything the proof asks of one dom0.
 *
 * The work per guest, vhost and rule is in methods of their own, and the loops
 * here stay small: V8 optimizes a function whose loop runs long while it runs,
 * and compiles it again each time what it inlined meets a new shape; a small
 * loop calling small methods costs it far less to compile.
 */
export function obligations(dom0: XenHost): Obligation[] {
  return questions(dom0).out;
}

/** Every question of one dom0, and what could not be asked. */
function questions(dom0: XenHost): Questions {
  const q = new Questions(dom0);
  const guests = dom0.guests;
  for (const guest of guests) q.addresses(guest);
  for (const guest of guests) for (const vhost of guest.vhosts) q.vhost(vhost);
  for (const rule of dom0.forwardRules) q.rule(rule);
  if (q.dropsByDefault) for (const guest of guests) q.closed(guest);
  return q;
}

/** Something the proof could not ask: no client stands for its source. */
export interface Unasked {
  readonly scope: IConstruct;
  readonly message: string;
}

/**
 * What the proof asks of one vhost of `dom0`: each socket, from each source a
 * rule opens it to, else from outside; and what it cannot ask.
 */
export function vhostQuestions(dom0: XenHost, vhost: Vhost): { readonly questions: FlowQuestion[]; readonly unasked: Unasked[] } {
  const q = new Questions(dom0);
  for (const guest of dom0.guests) q.addresses(guest);
  q.vhost(vhost);
  return { questions: q.out.map((o) => o.question), unasked: q.unasked };
}

type Guest = XenHost["guests"][number];
type Vhost = Guest["vhosts"][number];
type Rule = XenHost["forwardRules"][number];

/** The questions of one dom0, as they are worked out. */
class Questions {
  readonly out: Obligation[] = [];
  readonly unasked: Unasked[] = [];
  readonly dropsByDefault: boolean;
  /** Addresses of the dom0 and its guests: a client stands for none of them. */
  private readonly taken = new Set<number>();
  /** The accepts by guest address. */
  private readonly byAddress = new Map<string, ForwardAcceptModel[]>();
  /** The clients of each source, worked out once. */
  private readonly clientsOf = new Map<string, string[]>();

  constructor(private readonly dom0: XenHost) {
    this.taken.add(ipNum(dom0.uplink.address.address)!);
    const fw = dom0._firewallModel();
    this.dropsByDefault = fw.forwardPolicy === "DROP";
    for (const a of fw.accepts) {
      const list = this.byAddress.get(a.address);
      if (list) list.push(a);
      else this.byAddress.set(a.address, [a]);
    }
  }

  /** Takes a guest's addresses (before any client is chosen). */
  addresses(guest: Guest): void {
    for (const a of guest.addresses) this.taken.add(ipNum(a)!);
  }

  /** Each socket of a vhost, from wherever a rule lets it be reached. */
  vhost(vhost: Vhost): void {
    const v = vhost._vhostModel();
    const accepts = this.byAddress.get(v.address) ?? [];
    for (const port of v.httpPorts) this.socket(vhost, v.name, v.address, port, accepts);
    if (v.tls) this.socket(vhost, v.name, v.address, v.tls.port, accepts);
  }

  /** One socket of a vhost: from each source a rule opens it to (once each, in rule order), else from outside (and the firewall will say so). */
  private socket(vhost: Vhost, name: string, address: string, port: number, accepts: readonly ForwardAcceptModel[]): void {
    const path = vhost.node.path;
    const sources: string[] = [];
    for (const a of accepts) if (a.protocol === "tcp" && !a.sourcePorts.length && opens(a.ports, port) && !sources.includes(a.source)) sources.push(a.source);
    const what = `vhost ${name} on ${address}:${port}${sources.length ? "" : " (no ForwardRule opens it)"}`;
    for (const source of sources.length ? sources : ANYWHERE) {
      for (const from of this.clients(vhost, what, source)) this.out.push({ path, expect: "open", what, question: { from, to: address, port, apache: true } });
    }
  }

  /** Each port a rule opens, from each of its sources. */
  rule(rule: Rule): void {
    const path = rule.node.path;
    for (const a of rule._accepts()) {
      const sourcePort = a.sourcePorts.length ? a.sourcePorts[0].from : undefined;
      for (const r of a.ports) {
        const what = `${a.protocol} port ${r.from} of ${a.address}`;
        for (const from of this.clients(rule, what, a.source)) {
          this.out.push({ path, expect: "open", what, question: { protocol: a.protocol, from, to: a.address, port: r.from, sourcePort } });
        }
      }
    }
  }

  /** A port of the guest's first address that no rule opens, which must be dropped. */
  closed(guest: Guest): void {
    const address = guest.addresses[0];
    const accepts = this.byAddress.get(address) ?? [];
    const port = CLOSED_CANDIDATES.find((p) => !accepts.some((a) => a.protocol === "tcp" && opens(a.ports, p)));
    if (port === undefined) return;
    const what = `tcp port ${port} of ${address}, which no rule opens`;
    for (const from of this.clients(guest, what, "0.0.0.0/0")) {
      this.out.push({ path: guest.node.path, expect: "closed", what, question: { from, to: address, port } });
    }
  }

  /**
   * The clients standing for `source`, worked out once per source; when there
   * is none, what `scope` wanted asked is noted as not proven.
   */
  private clients(scope: IConstruct, what: string, source: string): string[] {
    let c = this.clientsOf.get(source);
    if (!c) this.clientsOf.set(source, (c = clients(this.dom0, source, this.taken)));
    if (!c.length) {
      const where = source === "0.0.0.0/0" ? "on the uplink's subnet or behind its router" : `in ${source} (among its first 256)`;
      this.unasked.push({ scope, message: `${what} is not proven at synth: every address ${where} is the dom0's or a guest's, and the model asks only from clients outside the dom0` });
    }
    return c;
  }
}

/** What the proof keeps of a flow that answers. */
const ANSWERED = { ok: true, forward: "delivered" } as const;

type Seen = Pick<FlowVerdict, "ok" | "forward">;

/**
 * Verdicts by flow: by destination and client address (strings the
 * obligations share, whose hashes the engine keeps), then by protocol, ports
 * and whether Apache's part was asked, as one number: no key is built per
 * question.
 */
export class SeenFlows {
  private readonly byAddresses = new Map<string, Map<string, Map<number, Seen>>>();

  get(q: FlowQuestion, apache: boolean): Seen | undefined {
    return this.byAddresses.get(q.to)?.get(q.from)?.get(SeenFlows.key(q, apache));
  }

  set(q: FlowQuestion, apache: boolean, v: Seen): void {
    let byFrom = this.byAddresses.get(q.to);
    if (!byFrom) this.byAddresses.set(q.to, (byFrom = new Map()));
    let byKey = byFrom.get(q.from);
    if (!byKey) byFrom.set(q.from, (byKey = new Map()));
    byKey.set(SeenFlows.key(q, apache), v);
  }

  /** Port, source port (or none), protocol and Apache in one integer below 2^35. */
  private static key(q: FlowQuestion, apache: boolean): number {
    return ((q.sourcePort ?? 65536) * 65536 + q.port) * 4 + (q.protocol === "udp" ? 2 : 0) + (apache ? 1 : 0);
  }
}

/**
 * The proof of one dom0: an error per construct and thing proven, naming the
 * first client it failed for. What it cannot ask goes to `unasked`. With a
 * `cache`, a proof that passed before on the same files and questions, with
 * the same library code, is not worked out again, and one that passes now is
 * noted in it.
 */
export function proveDom0(dom0: XenHost, unasked: (u: Unasked) => void = () => {}, cache?: ProofCache): string[] {
  const input = dom0ModelInput(dom0);
  const q = questions(dom0);
  q.unasked.forEach(unasked);
  const all = q.out;
  const key = cache ? proofKey(cache.version, input, all) : undefined;
  if (key !== undefined && cache!.has(key)) return [];
  const model = Reachability.fromFiles(input);
  // Guest by guest, so that the model holds few guests at once (it reads one when first asked about it).
  const guestOf = new Map<string, string>();
  for (const [guest, addresses] of Object.entries(model.guestAddresses())) for (const a of addresses) guestOf.set(a, guest);
  const byGuest = new Map<string | undefined, number[]>();
  all.forEach((o, i) => {
    const g = guestOf.get(o.question.to);
    const list = byGuest.get(g);
    if (list) list.push(i);
    else byGuest.set(g, [i]);
  });
  const failed = new Set<string>();
  const errors: [number, string][] = [];
  for (const bucket of byGuest.values()) proveGuest(model, all, bucket, failed, errors);
  if (key !== undefined && !errors.length) cache!.add(key);
  // In the order the obligations come: vhosts, forwarded ports, closed ports.
  return errors.sort((a, b) => a[0] - b[0]).map(([, e]) => e);
}

/**
 * The obligations of one guest (their indexes in `all`), proven; a failure is
 * added to `errors` once per construct and thing proven (kept in `failed`).
 */
function proveGuest(model: Reachability, all: readonly Obligation[], bucket: readonly number[], failed: Set<string>, errors: [number, string][]): void {
  // Verdicts already worked out for this guest, kept small: a passing one needs nothing but its outcome.
  const seen = new SeenFlows();
  for (const i of bucket) {
    const o = all[i];
    if (failed.size && failed.has(`${o.path}|${o.what}`)) continue;
    const q = o.question;
    // A vhost's socket that answers proves the same flow without Apache's part.
    const served = q.apache ? undefined : seen.get(q, true);
    if (served?.ok && o.expect === "open") continue;
    let v = seen.get(q, q.apache === true);
    if (!v) {
      const fast = model._outcome(q);
      v = fast.ok ? ANSWERED : { ok: false, forward: fast.forward };
      seen.set(q, q.apache === true, v);
    }
    if (o.expect === "open" ? v.ok : v.forward === "dropped") continue;
    failed.add(`${o.path}|${o.what}`);
    const expected = o.expect === "open" ? "must answer, and its reply come back" : "must be dropped";
    errors.push([i, `${o.path}: ${o.what} ${expected}; the model of the files says: ${model.flow(q).summary}`]);
  }
}
