/**
 * `cdktf-xen doctor`: reads a copy of a dom0's files and its guests' (and
 * what the hosts run now, where captured), and asks the reachability model,
 * for every guest address, whether each port the firewall opens and each
 * Apache virtual host answers from outside and whether the reply comes back.
 * Each failure gets its hops and the cure. What the model cannot read is
 * reported as unknown, never as a pass.
 */
import * as fs from "fs";
import * as path from "path";
import { FlowQuestion, FlowVerdict, outsideClients, unreadableText } from "../reachability";
import type { ApacheVhost } from "../reachability/apache";
import { readXlCfg, readXlDefaults, XL_DOMAIN_CONFIG } from "../reachability/host-files";
import { filesMatching } from "../reachability/files-by-path";
import { IfupdownConfig } from "../reachability/ifupdown";
import { ipNum, ipText, parseCidr } from "../reachability/ip";
import { Routing } from "../reachability/routing";
import type { Unreadable } from "../reachability";
import { allSourcePorts, ANYWHERE, clientOutside, coversSourcePorts, firewallOpens, firstSix, joinedPorts, portPieces, portRangesText, sourcePieces, sourcePortsOpenTo } from "./firewall-names";
import { Dom0Access, dom0Access } from "./dom0-access";
import { HostCopy, modelOfCopies, readHostCopy, STATE_FILES, StateFile } from "./host-copy";
import { SshdPorts, sshdPortsOf } from "./sshd-config";
import type { Topology, TopologyDom0 } from "../private/topology";

/** A wrong invocation or an input the doctor cannot start from (exit 2). */
export class DoctorInputError extends Error {}

export interface DoctorOptions {
  /**
   * The dom0's uplink, `<device>=<address>/<prefix>` (vif-route's main IP).
   * @default - from the synth preview's topology.json beside the copy, else the dom0's /etc/network/interfaces
   */
  readonly uplink?: string;
}

/** How one guest socket fares. */
export type DoctorStatus = "answers" | "black hole" | "dropped" | "unknown";

/** One guest address and port, asked from each client. */
export interface DoctorCheck {
  readonly guest: string;
  readonly address: string;
  readonly protocol: "tcp" | "udp";
  readonly port: number;
  /** Why it is asked: the vhosts on it, or `opened by the firewall`. */
  readonly why: string;
  readonly status: DoctorStatus;
  /** The verdict of the first client it fails for, else of the first client. */
  readonly verdict: FlowVerdict;
  /** What would make it answer, when it does not. */
  readonly cure?: string;
}

export interface DoctorReport {
  readonly dom0: string;
  readonly checks: readonly DoctorCheck[];
  /** Who the dom0's input path lets reach the dom0 itself by its uplink: sshd, and every other port. */
  readonly dom0Access: Dom0Access;
  /** What could not be read of sshd's configuration (then its port is what the rest says). */
  readonly sshdDoubts: readonly string[];
  /** Files that could not be read, guests without a copy, lines the model does not read. */
  readonly problems: readonly string[];
  /** The report, for a person. */
  readonly text: string;
  /** 0: every socket asked answers and everything was read; 1: otherwise. */
  readonly exitCode: 0 | 1;
}

/** The uplink `device=address/prefix`, checked. */
function parseUplink(text: string, from: string): { device: string; address: string } {
  const m = /^([A-Za-z0-9_.@-]{1,15})=(\d+\.\d+\.\d+\.\d+\/\d+)$/.exec(text);
  if (!m || !parseCidr(m[2])) throw new DoctorInputError(`${from}: ${JSON.stringify(text)} is not an uplink: expected <device>=<address>/<prefix>, e.g. eth0=192.0.2.1/24`);
  return { device: m[1], address: m[2] };
}

/** The dom0 as the synth preview's topology.json beside the copy in `dir` gives it, when the copy is a preview. */
function previewDom0(dir: string, dom0: HostCopy): Pick<TopologyDom0, "uplink" | "sshPort"> | undefined {
  const topology = path.join(dir, "..", "topology.json");
  if (!fs.existsSync(topology)) return undefined;
  return (JSON.parse(fs.readFileSync(topology, "utf8")) as Topology).dom0s.find((x) => x.id === dom0.host);
}

/** The ports the dom0's sshd listens on at `address`: as sshdPortsOf reads the copy, with the stack's ssh.port for a synth preview. */
export function dom0SshdPorts(dir: string, dom0: HostCopy, address: string): SshdPorts {
  const port = previewDom0(dir, dom0)?.sshPort;
  return sshdPortsOf(dom0, address, port === undefined ? undefined : { port, from: "ssh.port, in topology.json" });
}

/** The dom0's uplink: given, from the preview's topology.json, or from its interfaces file. */
export function findUplink(dir: string, dom0: HostCopy, given?: string): { device: string; address: string; from: string } {
  if (given !== undefined) return { ...parseUplink(given, "--uplink"), from: "--uplink" };
  const d = previewDom0(dir, dom0);
  if (d) return { device: d.uplink.device, address: `${d.uplink.address.address}/${d.uplink.address.prefix}`, from: "topology.json" };
  const devices = new Set<string>();
  const unread: Unreadable[] = [];
  const defaults = readXlDefaults(dom0.files["/etc/xen/xl.conf"] ?? "");
  for (const [p, text] of filesMatching(dom0.files, (p) => XL_DOMAIN_CONFIG.test(p))) {
    for (const v of readXlCfg(p, text, unread, defaults).vifs) devices.add(v.gatewaydev ?? "eth0");
  }
  const interfaces = dom0.files["/etc/network/interfaces"];
  const device = [...devices][0];
  if (devices.size === 1 && interfaces !== undefined) {
    const routing = new Routing();
    new IfupdownConfig("/etc/network/interfaces", interfaces, dom0.files).bringUp(routing, {}, () => true);
    const a = routing.addresses.find((x) => x.dev === device);
    if (a) return { device, address: `${ipText(a.address)}/${a.prefix}`, from: "/etc/network/interfaces" };
  }
  const why =
    devices.size > 1
      ? `the vifs name several gatewaydev (${[...devices].join(", ")})`
      : devices.size === 0
        ? `no vif of the copy's xl configs names it (gatewaydev)${unread.length ? `; ${unread.map(unreadableText).join("; ")}` : ""}`
        : interfaces === undefined
          ? `the copy has no /etc/network/interfaces to read ${device}'s address from`
          : `${device} has no static address in /etc/network/interfaces of the copy`;
  throw new DoctorInputError(`${dom0.host}: the uplink is not known: ${why}; give it with --uplink <device>=<address>/<prefix>`);
}

function statusOf(v: FlowVerdict): DoctorStatus {
  if (v.ok) return "answers";
  if (v.forward === "delivered" && v.reply === "dropped") return "black hole";
  if (v.forward === "dropped") return "dropped";
  return "unknown";
}

/** What would make a failing flow answer, from its first failing hop. */
export function cureOf(v: FlowVerdict, dom0: string): string {
  const f = v.failure;
  if (!f) return "";
  const q = v.question;
  const reply = v.forward === "delivered";
  if (f.outcome === "unknown") return `the model cannot decide this from the copy: ${f.text.includes("cannot read") || f.text.includes("not read") ? "rewrite or remove what it cannot read (above)" : "capture what the host runs now beside the copy (see the README: doctor)"}`;
  if (f.host === dom0) {
    if ((f.stage === "rp_filter" || f.stage === "arp") && reply) {
      const arp = "arp_announce=2 and arp_ignore=1 in the guest, so that it asks for its gateway with the address of the interface it asks on";
      // The request came in by one interface of the guest and the reply left by another: the seed's black hole.
      const inBy = v.hops.find((h) => h.stage === "arp" && h.host !== dom0)?.text.match(/ is (\S+) in the guest/)?.[1];
      const outBy = v.hops.find((h) => h.stage === "route" && h.host !== dom0)?.text.match(/leaves the guest by (\S+)/)?.[1];
      if (inBy !== undefined && outBy !== undefined && inBy !== outBy) {
        return `source policy routing in the guest: the reply from ${q.to} came in by ${inBy} and must leave by it, not ${outBy}: a routing table per interface (its subnet and default route) and \`ip rule add from ${q.to} lookup <table>\`, with ${arp}; RoutedDomU writes both for every vif (\`cdktf-xen import\` turns these files into code)`;
      }
      return f.stage === "arp" ? `${arp} (RoutedDomU writes them)` : "loose or no reverse-path filter on the vif, or the reply leaving the guest by the interface the request came in by";
    }
    if (f.stage === "firewall") return reply ? "accept the replies of tracked connections in FORWARD (-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT; XenHost's firewall does)" : `open ${q.protocol ?? "tcp"} port ${q.port} of ${q.to} in the dom0's FORWARD chain (a ForwardRule, or connections.allowFrom)`;
    if (f.stage === "forwarding") return "net.ipv4.ip_forward = 1 on the dom0 (XenHost writes it)";
    if (f.stage === "route") return reply ? "a route from the dom0 to the client by its uplink" : `a vif with ip=${q.to} and script=vif-route in the guest's xl config (vif-route adds the /32 route)`;
    if (f.stage === "arp") return "proxy ARP on the dom0's uplink (net.ipv4.conf.<uplink>.proxy_arp = 1; XenHost writes it)";
    return "loose or no reverse-path filter on the dom0's uplink for this client";
  }
  if (f.stage === "firewall") {
    return reply
      ? "let the guest's own firewall send the replies of tracked connections (OUTPUT: -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT); the library does not manage a guest's firewall"
      : `open ${q.protocol ?? "tcp"} port ${q.port} of ${q.to} in the guest's own firewall (its INPUT chain, or its nftables input hook); the library does not manage a guest's firewall`;
  }
  if (f.stage === "listen") return `Apache: Listen ${q.to}:${q.port} in ports.conf and a <VirtualHost ${q.to}:${q.port}> in an enabled site (a WebVhost writes both)`;
  if (f.stage === "arp") return `the guest must answer ARP for ${q.to} on the interface behind its vif: the address on the interface pinned to the vif's MAC (iftab or a .link file), brought up at boot, and arp_ignore=1`;
  if (f.stage === "deliver") return `${q.to} on the guest's interface behind its vif`;
  if (f.stage === "route") return `a route back in the guest from ${q.to}, by the interface of its vif`;
  return "loose or no reverse-path filter in the guest, or policy routing so that the route back leaves by the interface the request came in by";
}

/**
 * Client addresses standing for "anywhere": one behind the uplink's router, outside every source network the
 * firewall names (`sources`), and one on the uplink's subnet.
 */
function clientsFor(uplink: string, taken: ReadonlySet<number>, sources: readonly string[]): { address: string; where: string }[] {
  const { near } = outsideClients(parseCidr(uplink)!, taken);
  const far = clientOutside(parseCidr(uplink)!, taken, sources);
  if (far === undefined) throw new DoctorInputError(`no address is outside the uplink's subnet ${uplink} and every source network the firewall names (${sources.join(", ")}): no client can stand for "anywhere"`);
  return [{ address: ipText(far), where: "behind the uplink's router" }, ...(near === undefined ? [] : [{ address: ipText(near), where: "on the uplink's subnet" }])];
}

const STATUS_WORD: Record<DoctorStatus, string> = { answers: "ok", "black hole": "BLACK HOLE", dropped: "DROPPED", unknown: "UNKNOWN" };

/** Reads `<dir>/<dom0>` and its guests' copies and answers for every guest socket. */
export function doctor(dir: string, dom0Name: string, opts: DoctorOptions = {}): DoctorReport {
  const dom0 = readHostCopy(dir, dom0Name);
  if (!dom0.exists) throw new DoctorInputError(`${dom0.root}: no such folder: the copy holds ${fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => !n.endsWith(".state")).join(", ") || "nothing" : "nothing (no such folder)"}`);
  const uplink = findUplink(dir, dom0, opts.uplink);
  const problems: string[] = [];
  const copyProblem = (host: string) => (p: { path: string; why: string }) => `${host}: ${p.path}: cannot be read: ${p.why}`;
  problems.push(...dom0.problems.map(copyProblem(dom0Name)));

  // The guests the dom0's xl configs name.
  const defaults = readXlDefaults(dom0.files["/etc/xen/xl.conf"] ?? "");
  const guestNames: string[] = [];
  for (const [p, text] of filesMatching(dom0.files, (p) => XL_DOMAIN_CONFIG.test(p))) {
    const d = readXlCfg(p, text, [], defaults);
    if (d.vifs.length) guestNames.push(d.name ?? path.posix.basename(p, ".cfg"));
  }
  if (!guestNames.length) problems.push(`${dom0Name}: no xl config with a vif under /etc/xen: no guest to answer for`);
  const guests: Record<string, HostCopy> = {};
  for (const g of guestNames) {
    const copy = readHostCopy(dir, g);
    if (!copy.exists) {
      problems.push(`${g}: the copy holds no ${g}/ folder: its addresses cannot be answered for`);
      continue;
    }
    guests[g] = copy;
    problems.push(...copy.problems.map(copyProblem(g)));
  }
  const model = modelOfCopies(dom0, guests, uplink);
  const unread: Unreadable[] = model.unreadable;
  problems.push(...unread.map((u) => `not read: ${unreadableText(u)}`));

  // The candidates: every port the forward path names (the first of a range), and every vhost socket; the clients:
  // two for anywhere, one in each source network the firewall names; and a source port in each piece between the
  // source ports it names.
  const ports = model.portsNamed();
  const candidates = [...new Set(ports.destination.map((r) => r.from))];
  const addresses = model.guestAddresses();
  const taken = new Set<number>([ipNum(uplink.address.split("/")[0])!, ...Object.values(addresses).flat().map((a) => ipNum(a)!)]);
  const named = model.sourceNetworks();
  const clients = clientsFor(uplink.address, taken, named);
  const sources = [{ cidr: ANYWHERE, clients }, ...sourcePieces(named, taken).map((s) => ({ cidr: s.cidr, clients: [{ address: s.client, where: `in ${s.cidr}` }] }))];
  const pieces = portPieces(ports.source);
  const checks: DoctorCheck[] = [];
  const ask = (guest: string, address: string, protocol: "tcp" | "udp", port: number, why: string, apache: boolean, from = clients, sourcePort?: number): void => {
    const verdicts = from.map((c) => model.flow({ protocol, from: c.address, to: address, port, apache, ...(sourcePort === undefined ? {} : { sourcePort }) } as FlowQuestion));
    const failing = verdicts.find((v) => !v.ok);
    const verdict = failing ?? verdicts[0];
    const status = statusOf(verdict);
    checks.push({ guest, address, protocol, port, why, status, verdict, cure: failing ? cureOf(failing, dom0Name) : undefined });
  };
  for (const guest of guestNames) {
    // The vhosts the model's answers come from, as it read them.
    const apache = model._apacheOf(guest);
    for (const address of addresses[guest] ?? []) {
      const n = ipNum(address)!;
      const vhosts = (apache?.vhosts ?? []).filter((v) => v.address === n);
      // A virtual host named without a port serves every port Apache listens on for the address.
      const listening = (apache?.listens ?? []).filter((l) => l.address === undefined || l.address === n).map((l) => l.port);
      const portsOf = (v: ApacheVhost): number[] => (v.port === undefined ? listening : [v.port]);
      const vhostPorts = [...new Set(vhosts.flatMap(portsOf))].sort((a, b) => a - b);
      for (const port of vhostPorts) ask(guest, address, "tcp", port, `vhost ${vhosts.filter((v) => portsOf(v).includes(port)).map((v) => `${v.site} (${v.where})`).join(", ")}`, true);
      for (const protocol of ["tcp", "udp"] as const) {
        for (const port of candidates) {
          const anywhere = new Set<string>();
          const opens = sources.map((source) => sourcePortsOpenTo(model, dom0Name, pieces, { protocol, from: source.clients[0].address, to: address, port }));
          sources.forEach((source, i) => {
            const open = opens[i];
            const text = allSourcePorts(open) ? "" : ` from source ports ${portRangesText(open)}`;
            // Open from anywhere at the same source ports: asked there already.
            if (!open.length || anywhere.has(text) || anywhere.has("")) return;
            if (source.cidr === ANYWHERE) anywhere.add(text);
            // At the model's default source port where it is open there, else at the first port open.
            const sourcePort = firewallOpens(model.flow({ protocol, from: source.clients[0].address, to: address, port }), dom0Name) ? undefined : open[0].from;
            // A vhost's socket open from anywhere at the default source port: its vhost's check asked just that.
            if (protocol === "tcp" && vhostPorts.includes(port) && source.cidr === ANYWHERE && sourcePort === undefined) return;
            // Open from anywhere, but not as widely from a network the firewall names (a DROP before, a negated source).
            const except = source.cidr === ANYWHERE ? sources.filter((_, k) => k > 0 && !coversSourcePorts(opens[k], open)).map((s) => s.cidr) : [];
            ask(guest, address, protocol, port, `opened by the firewall${source.cidr === ANYWHERE ? "" : ` to ${source.cidr}`}${text}${except.length ? `, not to ${except.join(", ")}` : ""}`, false, source.clients, sourcePort);
          });
        }
      }
    }
  }

  // The dom0 itself: who reaches sshd, on the port it listens on, and what else the input path lets in.
  const upAddress = uplink.address.split("/")[0];
  const sshd = dom0SshdPorts(dir, dom0, upAddress);
  const access = dom0Access(model, parseCidr(uplink.address)!, taken, sshd.ports);

  const lines: string[] = [];
  const stateList = (c: HostCopy) => (Object.keys(c.state) as StateFile[]).map((s) => s).join(", ");
  lines.push(`cdktf-xen doctor: dom0 ${dom0Name}, uplink ${uplink.device} ${uplink.address} (from ${uplink.from}), guests ${guestNames.join(", ") || "none"}`);
  for (const c of [dom0, ...Object.values(guests)]) {
    lines.push(`read ${c.host}: ${Object.keys(c.files).length} files${Object.keys(c.state).length ? `; what it runs now: ${stateList(c)}` : ""}`);
  }
  lines.push(`clients: ${sources.flatMap((s) => s.clients).map((c) => `${c.address} (${c.where})`).join(", ")}`);
  let last = "";
  for (const c of checks) {
    const head = `${c.guest} ${c.address}`;
    if (head !== last) lines.push("", head);
    last = head;
    lines.push(`  ${STATUS_WORD[c.status].padEnd(10)} ${c.protocol} ${String(c.port).padEnd(5)} ${c.why}`);
    if (c.status !== "answers") {
      lines.push(`             ${c.verdict.summary}`);
      for (const h of c.verdict.hops) lines.push(`               ${h.outcome.padEnd(7)} ${h.host} ${h.stage}: ${h.text}`);
      lines.push(`             cure: ${c.cure}`);
    }
  }
  for (const g of guestNames) if (guests[g] && !(addresses[g] ?? []).length) lines.push("", `${g}: no vif the model reads gives it an address`);
  lines.push("", `${dom0Name} itself, by its uplink ${uplink.device} ${upAddress}`);
  const sshFrom = access.sshFrom === "anywhere" ? "from any address" : access.sshFrom.length ? `from ${access.sshFrom.join(", ")}` : access.sshUndecided ? "unknown (below)" : "from no network by the uplink";
  lines.push(`  sshd       tcp ${String(access.sshPort).padEnd(5)} ${sshFrom}`);
  for (const { from, ports } of access.open) lines.push(`  open       ${joinedPorts(ports)} ${from}`);
  for (const [why, list] of access.unknown) lines.push(`  UNKNOWN    ${firstSix(list)}: ${why}`);
  for (const d of sshd.doubts) lines.push(`  sshd's port: ${d}`);
  if (problems.length) lines.push("", "what the doctor could not read (answers that depend on it are unknown):", ...problems.map((p) => `  ${p}`));
  const count = (s: DoctorStatus) => checks.filter((c) => c.status === s).length;
  const sockets = new Set(checks.map((c) => c.address)).size;
  lines.push("", `${sockets} addresses, ${checks.length} sockets: ${count("answers")} answer, ${count("black hole")} black-holed, ${count("dropped")} dropped, ${count("unknown")} unknown`);
  const exitCode = checks.every((c) => c.status === "answers") && problems.length === 0 ? 0 : 1;
  return { dom0: dom0Name, checks, dom0Access: access, sshdDoubts: sshd.doubts, problems, text: `${lines.join("\n")}\n`, exitCode };
}

/** The state files the doctor reads, and the command that prints each: for the README and `--help`. */
export function stateFilesHelp(): string {
  return (Object.entries(STATE_FILES) as [StateFile, string][]).map(([f, cmd]) => `  <host>.state/${f.padEnd(14)} ${cmd}`).join("\n");
}
