/**
 * The TCP ports a host's sshd listens on at one IPv4 address, read from its
 * sshd_config as sshd reads it (sshd_config(5)): `Port` given any number of
 * times, `ListenAddress` with or without a port (which then takes every
 * `Port`), `Include` in place (globs, relative to /etc/ssh), keywords in any
 * case, `=` or white space between keyword and value, `#` comments; or from
 * what `sshd -T` printed, when a copy captured it.
 */
import { globbed } from "../reachability/files-by-path";
import { ipNum } from "../reachability/ip";
import type { FileSet } from "../reachability";
import type { HostCopy } from "./host-copy";

/** Where sshd reads its configuration. */
export const SSHD_CONFIG = "/etc/ssh/sshd_config";

/** Where sshd takes an Include's relative path from. */
const SSH_DIR = "/etc/ssh";

/** sshd's own limit on nested Includes. */
const MAX_DEPTH = 16;

/** sshd's port when the configuration names none. */
export const SSHD_DEFAULT_PORT = 22;

export interface SshdPorts {
  /** The ports sshd listens on at the address asked, in the order the configuration gives them, each once. */
  readonly ports: readonly number[];
  /** Where each port is given (`sshd_config line 14`), by port; the default port is given by none. */
  readonly where: ReadonlyMap<number, string>;
  /** What could not be read, each a sentence: the ports are then what the rest of the files say. */
  readonly doubts: readonly string[];
}

/** One `ListenAddress`: its address as written, and its port when it names one. */
interface Listen {
  readonly address: string;
  readonly port?: number;
  readonly where: string;
}

/**
 * A port as sshd reads one (a2port): a decimal number from 1 to 65535 (leading
 * zeros allowed), or a service name; only `ssh` (22) is known here.
 */
function portOf(text: string): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= 1 && n <= 65535 ? n : undefined;
  }
  return text === "ssh" ? 22 : undefined;
}

/** `addr`, `addr:port`, `[addr]`, `[addr]:port` (an IPv6 address holds colons: without brackets it has no port). */
function listenOf(text: string, where: string): Listen | string {
  const bracket = /^\[([^\]]+)\](?::(.+))?$/.exec(text);
  const colon = text.indexOf(":");
  const [address, port] = bracket ? [bracket[1], bracket[2]] : colon >= 0 && text.indexOf(":", colon + 1) < 0 ? [text.slice(0, colon), text.slice(colon + 1)] : [text, undefined];
  if (port === undefined) return { address, where };
  const n = portOf(port);
  return n === undefined ? `ListenAddress ${text} (${where}): a port sshd does not read` : { address, port: n, where };
}

/** The words of a line as sshd splits them: white space (or `=` after the keyword), double quotes, `#` ending the line. */
function wordsOf(line: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|(#.*)|([^\s"=]+)|=/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) {
    if (m[2] !== undefined) break;
    if (m[1] !== undefined) words.push(m[1]);
    else if (m[3] !== undefined) words.push(m[3]);
  }
  return words;
}

/**
 * The ports sshd listens on at `address` (IPv4), read from `files` (by
 * absolute path, starting at `config`). A `ListenAddress` of another address,
 * or an IPv6 one (sshd sets IPV6_V6ONLY), is not `address`; one that is a
 * host name is a doubt. Without the configuration file, the default port, and
 * a doubt that says so.
 */
export function sshdPorts(files: FileSet, address: string, config = SSHD_CONFIG): SshdPorts {
  const ports: { port: number; where: string }[] = [];
  const listens: Listen[] = [];
  const doubts: string[] = [];
  let family: string | undefined;
  // A Match block runs to the end of its file; an Include inside one reads its files inside it too.
  const read = (path: string, depth: number, matched: boolean): void => {
    const text = files[path];
    const name = path.slice(path.lastIndexOf("/") + 1);
    let inMatch = matched;
    text.split("\n").forEach((line, i) => {
      const words = wordsOf(line);
      if (!words.length) return;
      const key = words[0].toLowerCase();
      const args = words.slice(1);
      const where = `${name} line ${i + 1}`;
      if (key === "match") inMatch = true;
      else if (key === "include") {
        for (const arg of args) {
          const pattern = arg.startsWith("/") ? arg : `${SSH_DIR}/${arg}`;
          if (!pattern.startsWith(`${config}.d/`)) doubts.push(`Include ${arg} (${where}): files the copy does not hold (import reads ${config} and ${config}.d)`);
          else if (depth >= MAX_DEPTH) doubts.push(`Include ${arg} (${where}): nested deeper than sshd reads`);
          else for (const p of globbed(files, pattern)) read(p, depth + 1, inMatch);
        }
      } else if (key === "port" || key === "listenaddress" || key === "addressfamily") {
        if (inMatch) doubts.push(`${words.join(" ")} (${where}): sshd refuses it in a Match block and does not start`);
        else if (key === "addressfamily") family ??= args[0]?.toLowerCase();
        else if (key === "port") {
          const port = args.length === 1 ? portOf(args[0]) : undefined;
          if (port === undefined) doubts.push(`${words.join(" ")} (${where}): a port sshd does not read, so it does not start`);
          else ports.push({ port, where });
        } else {
          const listen = args[0] === undefined ? `ListenAddress (${where}): without an address` : listenOf(args[0], where);
          if (typeof listen === "string") doubts.push(listen);
          else listens.push(listen);
        }
      }
    });
  };
  if (files[config] === undefined) doubts.push(`the copy holds no ${config}`);
  else read(config, 0, false);

  // sshd's sockets: each ListenAddress, on its own port or on every Port; without any, every Port on every address.
  const given = ports.length ? ports : [{ port: SSHD_DEFAULT_PORT, where: "" }];
  const sockets: { port: number; where: string }[] = [];
  if (family === "inet6") doubts.push("AddressFamily inet6: sshd listens on no IPv4 address");
  else if (!listens.length) sockets.push(...given);
  for (const l of listens) {
    if (family === "inet6") break;
    const v4 = ipNum(l.address);
    if (v4 === undefined && !l.address.includes(":")) doubts.push(`ListenAddress ${l.address} (${l.where}): a host name, resolved when sshd starts`);
    if (l.address !== "0.0.0.0" && l.address !== address) continue;
    sockets.push(...(l.port !== undefined ? [{ port: l.port, where: l.where }] : given));
  }
  const where = new Map<number, string>();
  for (const s of sockets) if (!where.has(s.port)) where.set(s.port, s.where);
  return { ports: [...where.keys()], where: new Map([...where].filter(([, w]) => w !== "")), doubts };
}

/**
 * The ports sshd listens on at `address`, from what `sshd -T` prints: a
 * `listenaddress` line per socket, every Include read and every host name
 * resolved by sshd itself.
 */
export function sshdPortsOfTest(text: string, address: string): SshdPorts {
  const where = new Map<number, string>();
  let sockets = 0;
  for (const line of text.split("\n")) {
    const m = /^listenaddress (\S+):(\d+)(?:\s|$)/.exec(line.trim());
    if (!m) continue;
    sockets++;
    if ((m[1] === "0.0.0.0" || m[1] === address) && !where.has(Number(m[2]))) where.set(Number(m[2]), "sshd -T");
  }
  return { ports: [...where.keys()], where, doubts: sockets ? [] : ["sshd -T shows no listenaddress line"] };
}

/**
 * The ports a copied host's sshd listens on at `address`: what `sshd -T`
 * printed, when captured; else its sshd_config; else, when the copy holds
 * neither, `declared` (a synth preview's ssh.port: the library writes no
 * sshd_config).
 */
export function sshdPortsOf(copy: HostCopy, address: string, declared?: { readonly port: number; readonly from: string }): SshdPorts {
  if (copy.state.sshd !== undefined) return sshdPortsOfTest(copy.state.sshd, address);
  if (copy.files[SSHD_CONFIG] === undefined && declared) return { ports: [declared.port], where: new Map([[declared.port, declared.from]]), doubts: [] };
  return sshdPorts(copy.files, address);
}
