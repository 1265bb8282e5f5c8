/** Probes from a lab client: HTTP(S) pages by Host header, TCP and UDP ports open or dropped. */
import { spawnSync } from "child_process";
import type { Protocol } from "../connections/port";
import type { FlowQuestion } from "../reachability";
import { SandboxHost } from "./sandbox-host";

/** One probe of the lab from a client: what it asked, expected and saw. */
export interface ProbeResult {
  /** When the probe ran, e.g. `after deploy`, `negative control`. */
  readonly phase: string;
  /** An HTTP(S) request to a vhost, a TCP or UDP port, or a ping, that must open (answer) or must be dropped. */
  readonly kind: "http" | "https" | "tcp-open" | "tcp-dropped" | "udp-open" | "udp-dropped" | "ping-open" | "ping-dropped";
  /** `address:port` and what was asked. */
  readonly target: string;
  /** What the probe expected to see. */
  readonly expect: string;
  /** It saw what it expected. */
  readonly ok: boolean;
  /** How long it took, in milliseconds. */
  readonly ms: number;
  /** What it saw. */
  readonly detail: string;
  /** The same flow as a question for the reachability model (the lab asks it of the model too). */
  readonly flow?: FlowQuestion;
  /** Either outcome was expected: the files do not decide it (the order in which networkd adds equal routes). */
  readonly undetermined?: boolean;
}

/**
 * What the kernel did, as the model would say it: the connection got an
 * answer (a page, a connection, or the guest's refusal all come back), or
 * nothing came back at all.
 */
export function answered(p: ProbeResult): boolean {
  return p.kind === "http" || p.kind === "https" ? p.detail.startsWith("HTTP ") : [CONNECTED, ECHOED, REFUSED, PONG].includes(p.detail);
}

export interface HttpProbe {
  readonly address: string;
  readonly port: number;
  readonly serverName: string;
  readonly body: string;
  readonly tls: boolean;
  /**
   * The client's source address, when it is not the one its route picks: a
   * client behind the uplink's router.
   * @default - the client's own address on the uplink
   */
  readonly from?: string;
}

/** Proxy ARP answers after up to 0.8 s: give each probe a few tries before calling it a black hole. */
const TRIES = 3;

function pause(seconds: number): void {
  spawnSync("sleep", [String(seconds)]);
}

export function probeHttp(client: SandboxHost, p: HttpProbe, phase: string, expectAnswer: boolean | "either" = true): ProbeResult {
  const started = Date.now();
  const url = p.tls ? `https://${p.serverName}:${p.port}/` : `http://${p.address}:${p.port}/`;
  const args = ["curl", "-s", "-m", "3", "--noproxy", "*", "-o", "-", "-w", "\\n%{http_code}"];
  if (p.tls) args.push("-k", "--resolve", `${p.serverName}:${p.port}:${p.address}`);
  else args.push("-H", `Host: ${p.serverName}`);
  if (p.from) args.push("--interface", p.from);
  args.push(url);
  let detail = "";
  let answered = false;
  for (let i = 0; i < (expectAnswer !== false ? TRIES : 1); i++) {
    const r = client.exec(args);
    const lines = r.stdout.split("\n");
    const code = lines.pop() ?? "";
    const body = lines.join("\n");
    answered = r.status === 0 && code === "200" && body === p.body;
    detail = r.status === 0 ? `HTTP ${code}: ${JSON.stringify(body.slice(0, 60))}` : `curl exit ${r.status} (${r.status === 28 ? "timeout" : "no answer"})`;
    if (answered) break;
    if (i + 1 < TRIES && expectAnswer !== false) pause(1);
  }
  return {
    phase,
    kind: p.tls ? "https" : "http",
    target: `${p.address}:${p.port} Host ${p.serverName}${p.from ? ` from ${p.from}` : ""}`,
    expect: expectAnswer === "either" ? "either: the files do not decide it" : expectAnswer ? `its page ${JSON.stringify(p.body.trim())}` : "no answer (black hole)",
    ok: expectAnswer === "either" ? true : expectAnswer ? answered : !answered,
    ...(expectAnswer === "either" ? { undetermined: true } : {}),
    ms: Date.now() - started,
    detail,
  };
}

/** A socket a probe tries to reach from a lab client. */
export interface SocketProbe {
  /** TCP (a connection attempt) or UDP (a datagram to the lab's echo on the guest). */
  readonly protocol: Protocol;
  readonly address: string;
  readonly port: number;
  /**
   * The client's source address, when it is not the one its route picks: a
   * client behind the uplink's router.
   * @default - the client's own address on the uplink
   */
  readonly from?: string;
  /**
   * The client's source port.
   * @default - one the kernel picks
   */
  readonly sourcePort?: number;
}

/** What a UDP probe sends; the guest's echo sends it back. */
const DATAGRAM = "cdktf-xen-lab";
/** Seconds a probe waits for a connection or an echo. */
const WAIT = 3;
/** What a probe that got through saw. */
const CONNECTED = "connected";
const ECHOED = "echoed by the guest";
const REFUSED = "refused (nothing listens there): the firewall let it through";

/**
 * One try with socat: a TCP connection (closed at once, with a reset, so
 * that no TIME_WAIT holds the source port for the next probe) or a UDP
 * datagram and its echo.
 */
function socatTry(client: SandboxHost, p: SocketProbe): { readonly through: boolean; readonly detail: string } {
  const bind = p.from !== undefined ? [`bind=${p.from}${p.sourcePort !== undefined ? `:${p.sourcePort}` : ""}`] : p.sourcePort !== undefined ? [`sourceport=${p.sourcePort}`] : [];
  const r =
    p.protocol === "tcp"
      ? client.exec(["socat", "-T", String(WAIT), "/dev/null", [`TCP4:${p.address}:${p.port}`, `connect-timeout=${WAIT}`, "linger=0", ...bind].join(",")])
      : client.exec(["socat", "-t", String(WAIT), "-T", String(WAIT), "-", [`UDP4:${p.address}:${p.port}`, `readbytes=${DATAGRAM.length}`, ...bind].join(",")], DATAGRAM);
  if (/refused/i.test(r.stderr)) return { through: true, detail: REFUSED };
  if (r.status === 0 && p.protocol === "tcp") return { through: true, detail: CONNECTED };
  if (r.status === 0 && r.stdout === DATAGRAM) return { through: true, detail: ECHOED };
  if ((r.status === 0 && r.stdout === "") || /timed out/i.test(r.stderr)) return { through: false, detail: "timeout" };
  return { through: false, detail: r.stderr.trim().split("\n").pop() || `socat exit ${r.status}${r.stdout ? `, read ${JSON.stringify(r.stdout.slice(0, 60))}` : ""}` };
}

/**
 * A socket probe. Through the firewall, TCP is either accepted or refused
 * by the guest (a RST); UDP comes back from the guest's echo (or, where
 * nothing listens, as the guest's refusal). A drop shows as a timeout.
 */
export function probeSocket(client: SandboxHost, p: SocketProbe, expectOpen: boolean, phase: string): ProbeResult {
  const started = Date.now();
  let seen = { through: false, detail: "" };
  for (let i = 0; i < (expectOpen ? TRIES : 1); i++) {
    seen = socatTry(client, p);
    if (seen.through || !expectOpen) break;
    pause(1);
  }
  return {
    phase,
    kind: `${p.protocol}-${expectOpen ? "open" : "dropped"}`,
    target: `${p.address}:${p.port}${p.from !== undefined ? ` from ${p.from}` : ""}${p.sourcePort !== undefined ? ` source port ${p.sourcePort}` : ""}`,
    expect: expectOpen ? `passes the firewall (${p.protocol === "tcp" ? "connected" : "echoed"}, or refused where nothing listens)` : "dropped by the firewall (timeout)",
    ok: expectOpen ? seen.through : !seen.through && seen.detail === "timeout",
    ms: Date.now() - started,
    detail: seen.detail,
  };
}

/** What a ping that came back saw. */
const PONG = "echo reply";

/**
 * A ping (one ICMP echo request, `ping -c 1`) from a lab client to `address`,
 * from `from` when given (a client behind the uplink's router): answered, or
 * dropped (no reply in time).
 */
export function probePing(client: SandboxHost, address: string, from: string | undefined, expectAnswer: boolean, phase: string): ProbeResult {
  const started = Date.now();
  let detail = "";
  for (let i = 0; i < (expectAnswer ? TRIES : 1); i++) {
    const r = client.exec(["ping", "-n", "-c", "1", "-W", String(WAIT), ...(from !== undefined ? ["-I", from] : []), address]);
    detail = r.status === 0 ? PONG : r.status === 1 ? "timeout" : r.stderr.trim().split("\n").pop() || `ping exit ${r.status}`;
    if (r.status === 0 || !expectAnswer) break;
    pause(1);
  }
  return {
    phase,
    kind: `ping-${expectAnswer ? "open" : "dropped"}`,
    target: `${address}${from !== undefined ? ` from ${from}` : ""}`,
    expect: expectAnswer ? "an echo reply" : "dropped by the firewall (timeout)",
    ok: expectAnswer ? detail === PONG : detail === "timeout",
    ms: Date.now() - started,
    detail,
  };
}
