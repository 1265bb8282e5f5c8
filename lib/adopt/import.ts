/**
 * `cdktf-xen import`: turns a copy of a dom0's and its guests' files (laid
 * out as for the doctor) into the TypeScript of a stack a user can commit:
 * a XenHost, a RoutedDomU per xl config with its vifs, a WebVhost per
 * Apache virtual host, and ForwardRules for the ports the firewall opens to
 * each guest address from anywhere. Synthesizing it writes files that mean
 * the same (addresses, MACs, vifs, vhosts, ports), plus the cure: policy
 * routing and the ARP settings. What it cannot carry over is listed at the
 * top of the code, never dropped in silence.
 */
import * as path from "path";
import type { PortRange } from "../connections/port";
import { ApacheConfig, ApacheDirective, apacheServes, readApacheBlocks, sitesFolder, unquoted } from "../reachability/apache";
import { readXlDefaults, XL_DOMAIN_CONFIG, xlDomain } from "../reachability/host-files";
import { guestNames } from "../reachability/naming";
import { XlConfig } from "../reachability/xl-config";
import type { Unreadable } from "../reachability/outcome";
import { pathsMatching } from "../reachability/files-by-path";
import { Firewalls, FIREWALLD_CONF } from "../reachability/firewalls";
import { IfupdownConfig } from "../reachability/ifupdown";
import { NetworkdConfig, networkdFilesOf } from "../reachability/networkd";
import { netplanAsNetworkd, netplanFilesOf } from "../reachability/netplan";
import { cidrText, inCidr, ipNum, ipText, parseCidr, rangeCidrs } from "../reachability/ip";
import { Routing } from "../reachability/routing";
import { DoctorInputError, dom0SshdPorts, findUplink } from "./doctor";
import { Dom0Access, dom0Access } from "./dom0-access";
import { allSourcePorts, ANYWHERE, AskedSource, coversSourcePorts, firstSix, joinedPorts, portPieces, portRangesText, sourcePortsOpenTo, sourcesToAsk } from "./firewall-names";
import { firewallTextOf, guestRunningOf, HostCopy, modelOfCopies, readHostCopy } from "./host-copy";
import { SSHD_DEFAULT_PORT } from "./sshd-config";
import { App, FLAVOUR, TerraformStack } from "../private/cdk";
import { RoutedDomU, RoutedDomUProps } from "../routed-domu";
import { XenPropError } from "../validation/errors";
import { parseHostname } from "../validation/names";
import { WebVhost, WebVhostProps } from "../web-vhost";
import { XenHost } from "../xen-host";

/** Ports one source may open on an address from the same source ports: one ForwardRule. */
interface PortGroup {
  readonly protocol: "tcp" | "udp";
  /** Empty: every source port. */
  readonly sourcePorts: readonly PortRange[];
  /** The destination ports, in order; adjacent ones of a protocol joined. */
  readonly ports: PortOfProtocol[];
}

interface PortOfProtocol extends PortRange {
  readonly protocol: "tcp" | "udp";
}

export interface ImportOptions {
  /** The dom0's uplink, `<device>=<address>/<prefix>`, as for the doctor. */
  readonly uplink?: string;
  /**
   * Where the code imports the constructs from.
   * @default "cdktf-xen"
   */
  readonly from?: string;
  /**
   * The stack's name.
   * @default - the dom0's name
   */
  readonly stack?: string;
}

/** One `<VirtualHost>` of Apache's sites. */
export interface SiteBlock {
  readonly site: string;
  readonly address: string;
  readonly port: number;
  readonly serverName?: string;
  readonly aliases: string[];
  readonly documentRoot?: string;
  readonly tls?: { readonly certificateFile: string; readonly certificateKeyFile: string };
  /** The file it is in, among the host's files, and the line of `<VirtualHost`. */
  readonly file: string;
  readonly line: number;
}

/**
 * The host name of a ServerName, as Apache writes it (`[scheme://]name[:port]`):
 * with a scheme or port, `dropped` hears the whole value.
 */
function hostOfServerName(value: string | undefined, dropped: (whole: string) => void): string | undefined {
  if (value === undefined) return undefined;
  const m = /^(?:[A-Za-z][A-Za-z0-9+.-]*:\/\/)?(.*?)(?::\d+)?$/.exec(value)!;
  if (m[1] !== value) dropped(value);
  return m[1];
}

/** Where Debian keeps the sites a deploy writes. */
const SITES = /^\/etc\/apache2\/sites-(enabled|available)\//;

/**
 * The `<VirtualHost>` sections of the files apache2 reads (readApacheBlocks:
 * from apache2.conf and what it includes, or Debian's includes of ports.conf
 * and the sites where the copy has no apache2.conf), one per address:port it
 * names. A section in a file of the sites' folder that apache2 does not read
 * (not `*.conf`) is not imported, with a note (sites-available's files beside
 * sites-enabled are sites that are off); one outside the sites' folders is
 * imported with a note. The files an `Include` in a section names are read
 * in place, as apache2 reads them; one the model does not follow gets a note.
 * With them, Apache's configuration (its sockets from
 * what it listens on now, when `listening` holds that), for the notes on
 * what it serves now.
 */
export function readSiteBlocks(files: Readonly<Record<string, string>>, notes: string[], host: string, listening?: string): { readonly sites: SiteBlock[]; readonly apache?: ApacheConfig } {
  const read = readApacheBlocks(files, listening);
  if (!read) {
    if (Object.keys(files).some((p) => SITES.test(p))) notes.push(`${host}: the copy holds Apache's sites but neither apache2.conf nor ports.conf, so what apache2 reads is not known; its sites are not imported`);
    return { sites: [] };
  }
  const folder = sitesFolder(files);
  // Without apache2.conf the model reads Debian's includes in its place.
  const why = files["/etc/apache2/apache2.conf"] === undefined ? `Debian's apache2.conf includes ${folder}/*.conf` : "no Include of apache2.conf, or of a file it includes, names it";
  for (const p of pathsMatching(files, (p) => p.startsWith(`/etc/apache2/${folder}/`) && !read.read.has(p) && /^[ \t]*<VirtualHost[\s>]/im.test(files[p]))) {
    notes.push(`${host}: ${p}: apache2 does not read it (${why}), so its <VirtualHost> sections are not imported`);
  }
  const out: SiteBlock[] = [];
  for (const b of read.blocks) {
    const site = path.posix.basename(b.file).replace(/\.conf$/, "");
    const all = (name: string) => b.directives.filter((d) => d.name.toLowerCase() === name);
    const imported = (d: ApacheDirective): ApacheDirective => {
      if (d.maybe !== undefined) notes.push(`${host}: ${d.file} line ${d.line}: ${d.name} ${d.args} is imported, but apache2 may not read it (${d.maybe})`);
      return d;
    };
    // Apache takes the last ServerName, DocumentRoot and SSLEngine of a section; every ServerAlias adds names.
    const last = (name: string): string | undefined => {
      const d = all(name).pop();
      return d && unquoted(imported(d).args);
    };
    for (const d of b.directives) {
      if (d.unread !== undefined) notes.push(`${host}: ${d.file} line ${d.line}: ${d.name} ${d.args} in <VirtualHost ${b.addresses}> is not followed (${d.unread}): what it adds to the site is not imported`);
    }
    const certs = all("sslcertificatefile");
    if (certs.length > 1) notes.push(`${host}: ${b.file} line ${b.line}: <VirtualHost ${b.addresses}> has ${certs.length} SSLCertificateFile lines; only the first (${unquoted(certs[0].args)}) and the first SSLCertificateKeyFile are imported`);
    const first = (name: string): string | undefined => {
      const d = all(name)[0];
      return d && unquoted(d.args);
    };
    const serverName = hostOfServerName(last("servername"), (dropped) => notes.push(`${host}: ${b.file} line ${b.line}: <VirtualHost ${b.addresses}>: ServerName ${dropped}: imported as its host name (a WebVhost's ServerName is one; Apache's own links then take the scheme and port of the request)`));
    const documentRoot = last("documentroot");
    const ssl = last("sslengine")?.toLowerCase() === "on";
    const aliases = all("serveralias").flatMap((d) => imported(d).args.split(/\s+/).filter(Boolean));
    if (!SITES.test(b.file)) notes.push(`${host}: ${b.file} line ${b.line}: <VirtualHost ${b.addresses}> is not in a site's file; imported as site ${site}: take it out of ${b.file}, or the first deploy has apache2 read it twice`);
    for (const socket of b.addresses.split(/\s+/)) {
      const s = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(socket);
      if (!s) {
        notes.push(`${host}: ${b.file}: <VirtualHost ${b.addresses}> is not on one address:port; not imported`);
        continue;
      }
      const cert = first("sslcertificatefile");
      const key = first("sslcertificatekeyfile");
      out.push({
        site,
        address: s[1],
        port: Number(s[2]),
        serverName,
        aliases,
        documentRoot,
        tls: ssl && cert && key ? { certificateFile: cert, certificateKeyFile: key } : undefined,
        file: b.file,
        line: b.line,
      });
    }
  }
  return { sites: out, apache: read.config };
}

/**
 * The notes on who the copy's firewall lets reach the dom0 itself (see
 * dom0Access), and the networks firewall.managementCidrs takes: none when
 * sshd is open to any address or to no one. The library's firewall admits
 * sshd from the management networks, ICMP and replies: every other open
 * port is closed by the first deploy.
 */
function dom0InputNotes(access: Dom0Access, dom0Name: string, device: string, notes: string[]): string[] {
  const { sshPort, sshFrom } = access;
  for (const { from, ports } of access.open) {
    notes.push(`${dom0Name}: the copy's firewall lets ${joinedPorts(ports)} reach the dom0 itself ${from}; the imported firewall admits only sshd (tcp/${sshPort}, from firewall.managementCidrs), ICMP and replies to the dom0: the first deploy closes them`);
  }
  for (const [why, list] of access.unknown) {
    notes.push(`${dom0Name}: ${why}: the firewall's verdict is unknown for ${firstSix(list)} to the dom0 itself; check by hand whom it lets in`);
  }
  if (sshFrom === "anywhere") {
    notes.push(`${dom0Name}: the copy's firewall lets any address reach sshd (tcp/${sshPort}) on the dom0: firewall.managementCidrs is left unset (sshd open to any address; synth warns)`);
    return [];
  }
  if (!sshFrom.length && !access.sshUndecided) notes.push(`${dom0Name}: the copy's firewall lets no network reach sshd (tcp/${sshPort}) on the dom0 by its uplink ${device}: firewall.managementCidrs is left unset (sshd open to any address, by every interface; synth warns); set it to the networks you deploy from`);
  return [...sshFrom];
}

/** The message of the XenPropError `check` throws (what a construct would refuse), or undefined when it throws none. */
function refusal(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (e) {
    if (e instanceof XenPropError) return e.message;
    throw e;
  }
}

/** A name a construct id and an identifier can both take. */
function identifier(name: string, taken: Set<string>): string {
  let base = name.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : "")).replace(/^[^A-Za-z_]+/, "");
  if (!base || ["app", "stack", "dom0"].includes(base)) base = `${base || "guest"}Guest`;
  let id = base;
  for (let i = 2; taken.has(id); i++) id = `${base}${i}`;
  taken.add(id);
  return id;
}

/** A value as TypeScript source: JSON, with a space after each comma of a list, and an object's keys unquoted. */
const q = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(q).join(", ")}]`
    : typeof v === "object" && v !== null
      ? `{ ${Object.entries(v).map(([k, x]) => `${k}: ${q(x)}`).join(", ")} }`
      : JSON.stringify(v);

/** A construct's props as the lines of its object literal; a list of objects (vifs) one per line. */
function propsCode(props: Record<string, unknown>): string[] {
  return Object.entries(props).flatMap(([k, v]) =>
    Array.isArray(v) && v.length && v.every((x) => typeof x === "object" && x !== null) ? [`  ${k}: [`, ...v.map((x) => `    ${q(x)},`), "  ],"] : [`  ${k}: ${q(v)},`],
  );
}

/** The TypeScript of a stack for the dom0 `dom0Name` of the copy in `dir`, and what it could not carry over. */
export function importStack(dir: string, dom0Name: string, opts: ImportOptions = {}): { code: string; notes: string[] } {
  const dom0 = readHostCopy(dir, dom0Name);
  if (!dom0.exists) throw new DoctorInputError(`${dom0.root}: no such folder`);
  const uplink = findUplink(dir, dom0, opts.uplink);
  const notes: string[] = [...dom0.problems.map((p) => `${dom0Name}: ${p.path}: cannot be read: ${p.why}`)];
  const defaults = readXlDefaults(dom0.files["/etc/xen/xl.conf"] ?? "");
  if (defaults.rejected) notes.push(`${dom0Name}: /etc/xen/xl.conf line ${defaults.rejected.line}: xl cannot read the file (${defaults.rejected.why}): the vif defaults it sets (script, gatewaydev) are not taken`);
  const up = parseCidr(uplink.address)!;
  const upAddress = uplink.address.split("/")[0];
  const lines: string[] = [];
  const ids = new Set<string>();
  const guestCopies: Record<string, HostCopy> = {};
  const guestIds = new Map<string, string>();
  const imageDirs = new Set<string>();
  const guestCode: string[] = [];
  const rulesCode: string[] = [];

  // The dom0 as the code builds it, its guests' disk image folders aside: one XenHost refuses cannot be imported.
  const scratchDom0 = (diskImageDirectories: string[]) => new XenHost(new TerraformStack(new App(), opts.stack ?? dom0Name), dom0Name, { ssh: { host: upAddress }, uplink: { device: uplink.device, address: uplink.address }, diskImageDirectories });
  const dom0Refused = refusal(() => void scratchDom0([]));
  if (dom0Refused !== undefined) throw new DoctorInputError(`${dom0Name}: cannot be imported: XenHost refuses it (${dom0Refused})`);

  const cfgs = pathsMatching(dom0.files, (p) => XL_DOMAIN_CONFIG.test(p));
  for (const cfgPath of cfgs) {
    // Read as xl reads it: what xl cannot read (or the model does not) is noted, and a file xl rejects is not imported.
    const xl = new XlConfig(dom0.files[cfgPath]);
    const unread: Unreadable[] = [];
    const domain = xlDomain(cfgPath, xl, unread, defaults);
    notes.push(...unread.map((u) => `${dom0Name}: ${cfgPath} line ${u.line}: ${u.why}${u.text ? ` (${u.text})` : ""}`));
    if (xl.rejected) continue;
    const name = domain.name ?? path.posix.basename(cfgPath, ".cfg");
    if (!domain.vifs.length) {
      notes.push(`${dom0Name}: ${cfgPath}: domain ${name} has no vif; not imported`);
      continue;
    }
    const copy = readHostCopy(dir, name);
    if (copy.exists) guestCopies[name] = copy;
    else notes.push(`${name}: the copy holds no ${name}/ folder: its vifs' prefixes are the uplink's, its sites are not imported`);
    notes.push(...copy.problems.map((p) => `${name}: ${p.path}: cannot be read: ${p.why}`));
    const files = copy.exists ? copy.files : {};
    // The guest's addresses with their prefixes, as its interfaces file brings them up.
    const routing = new Routing();
    const unreadNames: Unreadable[] = [];
    const naming = guestNames(files, copy.state["ip-link"], unreadNames);
    notes.push(...unreadNames.map((u) => `${name}: ${u.file}${u.line ? ` line ${u.line}` : ""}: ${u.why}; the interface names it may set are not imported`));
    // systemd-networkd when the guest has .network files and no interfaces file, else ifupdown.
    const plan = netplanFilesOf(files);
    const onNetplan = plan.length > 0 && files["/etc/network/interfaces"] === undefined;
    const networkd = onNetplan ? netplanAsNetworkd(plan).networkd : networkdFilesOf(files);
    const onNetworkd = networkd.length > 0 && files["/etc/network/interfaces"] === undefined;
    if (onNetworkd) new NetworkdConfig(networkd).bringUp(routing, [...new Set([...naming.values()].map((n) => n.name))], () => undefined);
    const ifupdown = files["/etc/network/interfaces"] === undefined ? undefined : new IfupdownConfig("/etc/network/interfaces", files["/etc/network/interfaces"], files);
    if (!onNetworkd) ifupdown?.bringUp(routing, {}, () => true);
    const iftab = files["/etc/iftab"] !== undefined;
    // The naming the guest has: iftab (ifupdown's), udev rules, or .link files (what systemd-networkd takes by default).
    const udev = Object.keys(files).some((p) => p.startsWith("/etc/udev/rules.d/")) && naming.size > 0;
    const links = Object.keys(files).some((p) => p.endsWith(".link")) && naming.size > 0;
    const scheme = iftab && !onNetworkd ? "iftab" : udev ? "udev" : links || onNetworkd ? "systemd-link" : "iftab";
    const vifs: Record<string, unknown>[] = [];
    for (const v of domain.vifs) {
      const index = v.index;
      if (v.script !== "vif-route") notes.push(`${name}: vif ${index} has script ${v.script}; imported as a routed vif (vif-route)`);
      if (v.badIp !== undefined) {
        notes.push(`${name}: vif ${index}: ip= holds ${v.badIp}, not an IPv4 address; not imported`);
        continue;
      }
      const ips = v.ips.map(ipText);
      if (!ips.length) {
        notes.push(`${name}: vif ${index} has no ip=; not imported (a routed vif needs its addresses)`);
        continue;
      }
      // Each address with the prefix the guest's interfaces file gives it.
      const withPrefix = ips.map((ip) => {
        const a = routing.addresses.find((x) => ipText(x.address) === ip);
        const prefix = a?.prefix ?? (inCidr(up, ipNum(ip)!) ? up.prefix : 32);
        if (!a) notes.push(`${name}: ${ip}: not in the guest's interfaces file; its prefix taken as /${prefix}`);
        return `${ip}/${prefix}`;
      });
      const mac = v.mac;
      if (!mac) notes.push(`${name}: vif ${index} has no mac=: give it one (xl makes a new one at every boot)`);
      const named = mac ? naming.get(mac) : undefined;
      const vif: Record<string, unknown> = { mac: mac ?? `00:16:3e:00:00:${String(index).padStart(2, "0")}`, address: withPrefix[0] };
      if (withPrefix.length > 1) vif.additionalAddresses = withPrefix.slice(1);
      if (v.vifname && v.vifname !== `${name}-${index}`) vif.vifname = v.vifname;
      if (named && named.name !== `${scheme === "iftab" ? "eth" : "enX"}${index}`) vif.device = named.name;
      vifs.push(vif);
    }
    if (!vifs.length) continue;
    const disks = (xl.list("disk") ?? []).flatMap((d) => (d ? [d.text.replace(/\s+/g, "")] : []));
    const guestImageDirs = new Set<string>();
    for (const d of disks) {
      const target = /^(?:file|tap:aio|tap2:aio|aio):(\/[^,]+)/.exec(d)?.[1] ?? (/^([^,=]+),/.exec(d)?.[1]?.startsWith("/") && !d.startsWith("phy:") ? /^([^,]+)/.exec(d)![1] : undefined);
      if (target) guestImageDirs.add(path.posix.dirname(target));
    }
    // The props, in the order the code names them.
    const props: Record<string, unknown> = {};
    for (const k of ["memory", "vcpus"]) {
      const n = xl.long(k);
      if (n !== undefined) props[k] = n;
      else if (xl.has(k)) notes.push(`${name}: ${k} is not a number xl reads; left out`);
    }
    const type = xl.string("type") ?? (xl.string("builder") === "hvm" ? "hvm" : undefined);
    if (type !== undefined && type !== "pv") props.type = type;
    if (xl.string("kernel") !== undefined) {
      props.kernel = xl.string("kernel");
      for (const k of ["ramdisk", "root", "extra"]) if (xl.string(k) !== undefined) props[k] = xl.string(k);
    } else if (xl.string("bootloader") !== undefined && xl.string("bootloader") !== "pygrub") props.bootloader = xl.string("bootloader");
    props.disks = disks;
    props.vifs = vifs;
    const gateway = /^\s*gateway\s+(\d+\.\d+\.\d+\.\d+)\s*$/m.exec(files["/etc/network/interfaces"] ?? "")?.[1];
    if (gateway && gateway !== upAddress) props.gateway = gateway;
    if (onNetworkd) props.guestNetwork = onNetplan ? "netplan" : "systemd-networkd";
    if (onNetworkd && iftab) notes.push(`${name}: iftab with systemd-networkd: nothing reads it; imported with .link naming`);
    // The guest's own firewall (what it runs now, where captured, else its files): the stack does not manage it, and it keeps filtering after the first deploy.
    const running = guestRunningOf(copy);
    const commands = ifupdown?.firewallCommands(() => true) ?? [];
    const firewall = copy.exists ? new Firewalls(files, running, [], commands) : undefined;
    if (firewall?.present) {
      const captured = (["iptables-save", "nft-ruleset"] as const).filter((s) => copy.state[s] !== undefined);
      const from = captured.length
        ? captured
        : [
            ...firewall.read,
            ...(firewall.unreadable.some((u) => u.file === "/etc/network/interfaces") ? ["up lines of /etc/network/interfaces"] : []),
            ...(firewall.unreadable.some((u) => u.file === "/etc/ufw/ufw.conf") ? ["ufw"] : []),
            ...(firewall.unreadable.some((u) => u.file === FIREWALLD_CONF) ? ["firewalld"] : []),
          ];
      notes.push(`${name}: its own firewall (${from.join(", ")}) is not imported and stays as it is: the stack does not manage a guest's firewall, and what it drops stays dropped (\`cdktf-xen doctor\` shows it in each trace)`);
    }
    if (scheme !== (onNetworkd ? "systemd-link" : "iftab")) props.interfaceNaming = scheme;
    // Built as the code builds it, on a dom0 of its own with the folders of its disk images: what RoutedDomU (or XenHost, for those folders) refuses is not imported.
    let scratch: RoutedDomU | undefined;
    const refusedGuest = refusal(() => void (scratch = new RoutedDomU(scratchDom0([...guestImageDirs]), name, props as unknown as RoutedDomUProps)));
    if (refusedGuest !== undefined) {
      notes.push(`${name}: not imported, with its sites and the ports forwarded to it: RoutedDomU refuses it (${refusedGuest}); carry it over by hand`);
      continue;
    }
    for (const d of guestImageDirs) imageDirs.add(d);
    const id = identifier(name, ids);
    guestCode.push("", `const ${id} = new RoutedDomU(dom0, ${q(name)}, {`, ...propsCode(props), "});");

    // Sites: one WebVhost per (address, ServerName): its HTTP ports and its TLS port.
    const { sites: blocks, apache } = readSiteBlocks(files, notes, name, copy.state.listening);
    const groups = new Map<string, SiteBlock[]>();
    for (const b of blocks) {
      if (!b.serverName || !b.documentRoot) {
        notes.push(`${name}: site ${b.site} on ${b.address}:${b.port} has no ${b.serverName ? "DocumentRoot" : "ServerName"}; not imported`);
        continue;
      }
      // Imported, it is served after the first deploy: say so where Apache does not serve it now.
      const now = apache && apacheServes(apache, ipNum(b.address)!, b.port);
      if (now?.outcome === "drop") notes.push(`${name}: site ${b.site} on ${b.address}:${b.port}: Apache does not serve it now (${now.listen ? "its <VirtualHost> is not in what Apache reads: in a section that is off, or in a file apache2.conf does not include" : apache!.listensFrom === "configuration" ? "no Listen of its configuration matches it" : "ss -Hltnp shows no socket of Apache's for it"}); imported, the first deploy serves it`);
      else if (now?.outcome === "unknown") notes.push(`${name}: site ${b.site} on ${b.address}:${b.port}: whether Apache serves it now is not known (${now.doubt}); imported, the first deploy serves it`);
      const key = `${b.address}|${b.serverName}`;
      groups.set(key, [...(groups.get(key) ?? []), b]);
    }
    const siteNames = new Set<string>();
    for (const group of groups.values()) {
      const first = group[0];
      const http = [...new Set(group.filter((b) => !b.tls).map((b) => b.port))].sort((a, b) => a - b);
      const tls = group.find((b) => b.tls);
      // An alias WebVhost would refuse is left out; a site it would refuse is not imported.
      const where = `${name}: site ${first.site} on ${first.address}`;
      const aliases = first.aliases.filter((a) => {
        const why = refusal(() => parseHostname(a, { path: where, prop: "ServerAlias" }, true));
        if (why !== undefined) notes.push(`${why}; left out (a WebVhost refuses it): the site no longer answers to that name after the first deploy`);
        return why === undefined;
      });
      // A site name WebVhost takes: Debian's own site names are refused, so that a deploy never overwrites them.
      let site = first.site.replace(/[^A-Za-z0-9_.-]/g, "-");
      if (site === "000-default" || site === "default-ssl") {
        notes.push(`${name}: site ${site} imported as ${site}-imported (WebVhost refuses the names of Debian's own sites)`);
        site = `${site}-imported`;
      }
      const base = site;
      for (let i = 2; siteNames.has(site); i++) site = `${base}-${i}`;
      const p: Record<string, unknown> = { address: first.address, serverName: first.serverName };
      if (aliases.length) p.serverAliases = aliases;
      p.documentRoot = first.documentRoot;
      if (http.length && (http.length !== 1 || http[0] !== 80)) p.ports = http;
      if (tls) p.tls = { ...(tls.port !== 443 ? { port: tls.port } : {}), certificateFile: tls.tls!.certificateFile, certificateKeyFile: tls.tls!.certificateKeyFile };
      // Built as the code builds it, on the guest built above: what WebVhost refuses is not imported.
      const refusedSite = refusal(() => void new WebVhost(scratch!, site, p as unknown as WebVhostProps));
      if (refusedSite !== undefined) {
        notes.push(`${where}: not imported: WebVhost refuses it (${refusedSite}); carry it over by hand`);
        continue;
      }
      siteNames.add(site);
      if (!http.length) notes.push(`${name}: site ${site} has only a TLS vhost; imported with HTTP on port 80 as well (a WebVhost always has an HTTP port)`);
      guestCode.push(`new WebVhost(${id}, ${q(site)}, {`, ...propsCode(p), "});");
    }
    guestIds.set(name, id);
  }

  // Forwarded ports: those the dom0's firewall lets a client open to each guest address, from anywhere or from a
  // source it names, and from which source ports.
  const model = modelOfCopies(dom0, guestCopies, uplink);
  const guestSet = new Set(Object.values(model.guestAddresses()).flat());
  const taken = new Set([...guestSet, upAddress].map((a) => ipNum(a)!));
  const firewallText = firewallTextOf(dom0);
  // Destination and source ports in pieces between the edges of those the forward path names: one port of a
  // piece, asked, answers for all of it.
  const ports = model.portsNamed();
  const candidates = portPieces(ports.destination);
  const hasFirewall = firewallText.trim().length > 0;
  if (!hasFirewall) notes.push(`${dom0Name}: the copy holds no firewall (rules.v4, an nftables file, or iptables-save / nft-ruleset beside it): no ForwardRule imported, and firewall.managementCidrs is left unset (sshd open to any address; synth warns)`);
  // "Anywhere" is stood for by a client outside every source the firewall names; each piece of those sources (cut at
  // each other's edges) by one client in it.
  const named = model.sourceNetworks();
  const sources = sourcesToAsk(up, taken, named);
  if (sources[0]?.cidr !== ANYWHERE) notes.push(`${dom0Name}: no address is outside every source network the firewall names (${named.join(", ")}): no port is imported as open from anywhere`);
  const pieces = portPieces(ports.source);
  // A port or range as a Port; a TCP port alone, with `bare`, as a number.
  const portCode = (p: PortOfProtocol, bare: boolean) =>
    p.from === 1 && p.to === 65535 ? `Port.all${p.protocol === "tcp" ? "Tcp" : "Udp"}()` : p.from !== p.to ? `Port.${p.protocol}Range(${p.from}, ${p.to})` : bare ? `${p.from}` : `Port.${p.protocol}(${p.from})`;
  // TCP ports alone are numbers where every port of the rule is TCP.
  const portsCode = (list: readonly PortOfProtocol[]) => {
    const bare = list.every((p) => p.protocol === "tcp");
    return `[${list.map((p) => portCode(p, bare)).join(", ")}]`;
  };
  const key = (address: string, protocol: string, piece: PortRange) => `${address} ${protocol}/${portRangesText([piece])}`;
  // Sockets whose firewall verdict is unknown, by why (a rule the model cannot read that may match them).
  const undecided = new Map<string, Set<string>>();
  const sourcePortsCode = (protocol: "tcp" | "udp", list: readonly PortRange[]) => `[${list.map((r) => portCode({ protocol, ...r }, false)).join(", ")}]`;
  // Addresses the firewall lets a ping (an ICMP echo request) through to, by source: ForwardRule opens TCP and UDP only.
  const pinged = new Map<string, string[]>();
  for (const [guest, addresses] of Object.entries(model.guestAddresses())) {
    const id = guestIds.get(guest);
    if (!id) continue;
    // What each source may open on each address ("192.0.2.30 tcp/8443", "192.0.2.31 tcp/8444-65535"), and from
    // which source ports.
    const asked: (AskedSource & { readonly open: Map<string, PortRange[]> })[] = [];
    for (const source of sources) {
      const { cidr, client } = source;
      const open = new Map<string, PortRange[]>();
      for (const address of addresses) {
        for (const protocol of ["tcp", "udp"] as const) {
          for (const piece of candidates) {
            const k = key(address, protocol, piece);
            const socket = cidr === ANYWHERE ? k : `${k} from ${cidr}`;
            const unknown = (rule: string) => void undecided.set(rule, (undecided.get(rule) ?? new Set()).add(socket));
            open.set(k, sourcePortsOpenTo(model, dom0Name, pieces, { protocol, from: client, to: address, port: piece.from }, unknown));
          }
        }
      }
      asked.push({ ...source, open });
    }
    // Pieces of the source networks next to each other that open the same are one source (a network the firewall
    // names, cut by none of the others, is one piece already).
    const bySource: typeof asked = [];
    for (const a of asked) {
      const prev = bySource[bySource.length - 1];
      if (prev?.last !== undefined && a.first === prev.last + 1 && JSON.stringify([...a.open]) === JSON.stringify([...prev.open])) {
        const cidrs = rangeCidrs(prev.first!, a.last!).map(cidrText);
        bySource[bySource.length - 1] = { ...prev, last: a.last, cidrs, cidr: cidrs.join(", ") };
      } else bySource.push(a);
    }
    const openBy = new Map(bySource.map((s) => [s.cidr, s.open]));
    // Open from anywhere but not (or from fewer source ports) from a network the firewall names: a ForwardRule
    // cannot leave a network out, so it is imported only for the networks it is open to, never widened.
    const except = new Set<string>();
    for (const [key, anywhere] of openBy.get(ANYWHERE) ?? []) {
      const left = bySource.filter((s) => s.cidr !== ANYWHERE && !coversSourcePorts(s.open.get(key)!, anywhere)).map((s) => s.cidr);
      if (!anywhere.length || !left.length) continue;
      except.add(key);
      notes.push(`${dom0Name}: ${key} is open from anywhere but not as widely from ${left.join(", ")}: a ForwardRule cannot leave a network out, so it is imported only for the source networks the firewall names; open it to others by hand`);
    }
    // A port open from anywhere (from the same source ports) is not repeated for a source.
    const openAnywhere = new Map<string, string>();
    for (const { cidr, cidrs } of bySource) {
      // By address: the ports opened, grouped by protocol and source ports ("tcp all", "udp 1024-65535"); pieces
      // next to each other joined into one range.
      const opened = new Map<string, Map<string, PortGroup>>();
      for (const address of addresses) {
        for (const protocol of ["tcp", "udp"] as const) {
          for (const piece of candidates) {
            const k = key(address, protocol, piece);
            const open = openBy.get(cidr)!.get(k)!;
            if (!open.length || (cidr === ANYWHERE && except.has(k))) continue;
            const sourcePorts = allSourcePorts(open) ? [] : open;
            const group = `${sourcePorts.length ? protocol : "any"} ${portRangesText(sourcePorts) || "all"}`;
            if (cidr === ANYWHERE) openAnywhere.set(k, group);
            else if (openAnywhere.get(k) === group || openAnywhere.get(k) === "any all") continue;
            const byGroup = opened.get(address) ?? new Map<string, PortGroup>();
            const entry = byGroup.get(group) ?? { protocol, sourcePorts, ports: [] };
            const last = entry.ports[entry.ports.length - 1];
            if (last?.protocol === protocol && last.to + 1 === piece.from) entry.ports[entry.ports.length - 1] = { protocol, from: last.from, to: piece.to };
            else entry.ports.push({ protocol, ...piece });
            opened.set(address, byGroup.set(group, entry));
          }
        }
      }
      const from = cidr === ANYWHERE ? "" : `, from: ${q(cidrs)}`;
      const suffix = cidr === ANYWHERE ? "in" : `from-${cidrs[0].replace(/[./]/g, "-")}`;
      const rulesOf = (to: string, name: string, groups: Map<string, PortGroup>) =>
        [...groups.values()].forEach((g, i) => {
          const sports = g.sourcePorts.length ? `, sourcePorts: ${sourcePortsCode(g.protocol, g.sourcePorts)}` : "";
          rulesCode.push(`new ForwardRule(dom0, ${q(`${name}${i ? `-${i + 1}` : ""}`)}, { to: ${to}, ports: ${portsCode(g.ports)}${from}${sports} });`);
        });
      const shape = (a: string) => JSON.stringify([...(opened.get(a)?.entries() ?? [])]);
      if (addresses.every((a) => shape(a) === shape(addresses[0])) && opened.has(addresses[0])) {
        rulesOf(id, `${guest}-${suffix}`, opened.get(addresses[0])!);
      } else {
        for (const a of addresses) {
          const groups = opened.get(a);
          if (groups) rulesOf(q(a), `${guest}-${a.replace(/\./g, "-")}-${suffix}`, groups);
        }
      }
    }
    // Pings, after the ports: ForwardRule cannot open them.
    for (const address of addresses) {
      let fromAnywhere = false;
      for (const { cidr, client } of sources) {
        const v = model._ping({ from: client, to: address });
        const from = cidr === ANYWHERE ? "from anywhere" : `from ${cidr}`;
        if (v?.outcome === "unknown") {
          undecided.set(v.undecidedBy, (undecided.get(v.undecidedBy) ?? new Set()).add(`${address} ping${cidr === ANYWHERE ? "" : ` ${from}`}`));
        }
        if (v?.outcome !== "pass" || fromAnywhere) continue;
        fromAnywhere = cidr === ANYWHERE;
        pinged.set(from, [...(pinged.get(from) ?? []), address]);
      }
    }
  }

  for (const [from, addresses] of pinged) {
    const shown = firstSix(addresses);
    notes.push(`${dom0Name}: the copy's firewall lets ICMP echo requests (ping) through to ${shown} ${from}; ForwardRule opens TCP and UDP only, so the first deploy drops them`);
  }
  for (const [why, sockets] of undecided) {
    const list = [...sockets];
    const shown = firstSix(list);
    notes.push(`${dom0Name}: ${why}: the firewall's verdict is unknown for ${shown}, which are not imported; carry over by hand what the rule opens`);
  }

  // The dom0 itself: who may reach its sshd, and what else its input path lets in.
  // sshd's ports (sshd -T, else sshd_config, else a preview's ssh.port): the stack deploys through ssh.port, the one port XenHost's firewall opens to firewall.managementCidrs.
  const sshd = dom0SshdPorts(dir, dom0, upAddress);
  const access = hasFirewall ? dom0Access(model, up, taken, sshd.ports) : undefined;
  const sshPort = access?.sshPort ?? sshd.ports[0] ?? SSHD_DEFAULT_PORT;
  const management = access ? dom0InputNotes(access, dom0Name, uplink.device, notes) : [];
  const sshCheck = `ssh.port is ${sshPort}: check it before the first deploy, which connects through it and opens it to firewall.managementCidrs`;
  for (const d of sshd.doubts) notes.push(`${dom0Name}: reading sshd's port: ${d}; ${sshCheck}`);
  if (!sshd.ports.length) notes.push(`${dom0Name}: sshd_config gives sshd no IPv4 socket on the uplink address ${upAddress}; ${sshCheck}`);
  const otherSsh = sshd.ports.filter((p) => p !== sshPort);
  if (otherSsh.length) notes.push(`${dom0Name}: sshd listens on ${joinedPorts(otherSsh.map((p) => `tcp/${p}${sshd.where.has(p) ? ` (${sshd.where.get(p)})` : ""}`))} too; ssh.port is ${sshPort}, the one port the imported firewall opens to sshd`);
  const nft = !dom0.state["iptables-save"] && !dom0.files["/etc/iptables/rules.v4"] && /table\s+inet|table\s+ip\b/.test(firewallText);
  // The iptables backend matches guests through ipsets from firewall.ipsetFrom addresses (64): keep the form the copy has.
  const guestCount = Object.values(model.guestAddresses()).flat().length;
  const sets = /^-A FORWARD .*--match-set /m.test(firewallText);
  const ipsetFrom = nft ? undefined : sets && guestCount < 64 ? 0 : !sets && guestCount >= 64 ? guestCount + 1 : undefined;
  const firewall = [...(management.length ? [`managementCidrs: ${q(management)}`] : []), ...(nft ? [`backend: "nftables"`] : []), ...(ipsetFrom === undefined ? [] : [`ipsetFrom: ${ipsetFrom}`])];
  const uses = ["ForwardRule", "RoutedDomU", "WebVhost", "XenHost", ...(rulesCode.some((l) => l.includes("Port.")) ? ["Port"] : [])].sort();
  lines.push(
    `// Imported by cdktf-xen import from a copy of ${dom0Name} and its guests. Review it before the first deploy:`,
    "// `cdktf-xen diff` shows what a deploy would change on each host.",
    ...[...new Set(notes)].map((n) => `// NOTE ${n}`),
    `import { App, TerraformStack } from ${q(FLAVOUR.cdk)};`,
    `import { ${uses.join(", ")} } from ${q(opts.from ?? FLAVOUR.pkg)};`,
    "",
    "const app = new App();",
    `const stack = new TerraformStack(app, ${q(opts.stack ?? dom0Name)});`,
    `const dom0 = new XenHost(stack, ${q(dom0Name)}, {`,
    `  ssh: { host: ${q(upAddress)}${sshPort === SSHD_DEFAULT_PORT ? "" : `, port: ${sshPort}`} },`,
    `  uplink: { device: ${q(uplink.device)}, address: ${q(uplink.address)} },`,
    ...(firewall.length ? [`  firewall: { ${firewall.join(", ")} },`] : []),
    ...(imageDirs.size ? [`  diskImageDirectories: ${q([...imageDirs].sort())},`] : []),
    "});",
    ...guestCode,
    "",
    ...rulesCode,
    "app.synth();",
  );
  return { code: `${lines.join("\n")}\n`, notes: [...new Set(notes)] };
}
