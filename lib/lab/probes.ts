/** Probes from a lab client: HTTP(S) pages by Host header, TCP ports open or dropped. */
import { spawnSync } from "child_process";
import type { FlowQuestion } from "../reachability";
import { SandboxHost } from "./sandbox-host";

/** One probe of the lab from a client: what it asked, expected and saw. */
export interface ProbeResult {
  /** When the probe ran, e.g. `after deploy`, `negative control`. */
  readonly phase: string;
  /** An HTTP(S) request to a vhost, or a TCP port that must open or must be dropped. */
  readonly kind: "http" | "https" | "tcp-open" | "tcp-dropped";
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
  return p.kind === "http" || p.kind === "https" ? p.detail.startsWith("HTTP ") : p.detail === "connected" || /refused/i.test(p.detail);
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

/**
 * A TCP connection attempt. Through the firewall it is either accepted or
 * refused by the guest (a RST); a drop shows as a timeout.
 */
export function probeTcp(client: SandboxHost, address: string, port: number, expectOpen: boolean, phase: string): ProbeResult {
  const started = Date.now();
  let detail = "";
  let passed = false;
  for (let i = 0; i < (expectOpen ? TRIES : 1); i++) {
    const r = client.exec(["timeout", "3", "bash", "-c", `exec 3<>/dev/tcp/${address}/${port}`]);
    const refused = /refused/i.test(r.stderr);
    passed = r.status === 0 || refused;
    // bash's own words for a refusal ("/dev/tcp/...: Connection refused") read as a failure: say what it means.
    detail = r.status === 0 ? "connected" : refused ? "refused by the guest (nothing listens there): the firewall let it through" : r.status === 124 ? "timeout" : (r.stderr.trim().split("\n").pop() ?? `exit ${r.status}`);
    if (passed || !expectOpen) break;
    pause(1);
  }
  return {
    phase,
    kind: expectOpen ? "tcp-open" : "tcp-dropped",
    target: `${address}:${port}`,
    expect: expectOpen ? "passes the firewall (connected or refused by the guest)" : "dropped by the firewall (timeout)",
    ok: expectOpen ? passed : !passed && detail === "timeout",
    ms: Date.now() - started,
    detail,
  };
}
