/**
 * Testing your own infrastructure definitions: the files each host receives,
 * and the reachability model's answer for any flow, with jest matchers that
 * print the hop-by-hop trace when they fail. Needs no root, no network and
 * no Terraform: it reads the files the constructs render, as synth does.
 *
 * @example
 * import { XenTemplate, setupJest } from "cdktf-xen/testing";
 * setupJest();
 * const t = XenTemplate.fromStack(stack);
 * expect(t.hostFile(dom0, "/etc/iptables/rules.v4")).toContain("--dports 80,443");
 * expect(t).toServe(siteB);
 * expect(t).toBeDroppedAt({ from: "203.0.113.9", to: "192.0.2.201", port: 22 }, "firewall");
 * @module cdktf-xen/testing
 */
import { isDeepStrictEqual } from "util";
import { TerraformStack } from "../private/cdk";
import { dom0ModelInput, vhostQuestions } from "../private/prove";
import type { FlowQuestion, FlowVerdict, ModelInput, Outcome } from "../reachability";
import { Reachability } from "../reachability";
import { isPort } from "../reachability/flow";
import type { RoutedDomU } from "../routed-domu";
import type { WebVhost } from "../web-vhost";
import { XenHost } from "../xen-host";
import { setupJest } from "./matchers";

export { XenPropError } from "../validation/errors";
export type { PropSite } from "../validation/errors";
export { Reachability, STAGES } from "../reachability";
export type { FlowQuestion, FlowVerdict, Hop, ModelInput, Outcome, PortsNamed, Stage, SysctlBaseline, Unreadable } from "../reachability";

/** A client's new connection to the dom0 itself: TCP or UDP to its uplink address. */
export interface Dom0Question {
  /** The client's address (IPv4); it comes in by the uplink. */
  readonly from: string;
  /** The dom0's port it connects to. */
  readonly port: number;
  /** @default "tcp" */
  readonly protocol?: "tcp" | "udp";
  /** @default 40000 */
  readonly sourcePort?: number;
}

/** What the dom0's input firewall does with a Dom0Question. */
export interface Dom0Verdict {
  /** `pass`: it reaches the dom0's sockets; `unknown`: the files do not decide it (a rule the model cannot read, no firewall). */
  readonly outcome: Outcome;
  /** The rule (or policy) of each firewall that decides, e.g. `rules.v4 line 9 "-A INPUT -s 203.0.113.0/24 -p tcp -m tcp --dport 22 -j ACCEPT": ACCEPT`. */
  readonly text: string;
}
export type { Dom0Input, Dom0Running, FileSet, GuestRunning, UplinkInput } from "../reachability/hosts";
export type { LiveRoutingText } from "../reachability/live-routing";
export { setupJest };

/**
 * What a stack's hosts receive, and the model's answers about it: as
 * aws-cdk's `Template.fromStack`, for Xen hosts.
 */
export class XenTemplate {
  /** Every dom0 of `stack`, with its guests, as the stack is when each question is asked. */
  static fromStack(stack: TerraformStack): XenTemplate {
    return new XenTemplate(stack);
  }

  /** Each dom0's model, with the files it was read from. */
  private readonly models = new Map<XenHost, { readonly input: ModelInput; readonly model: Reachability }>();

  private constructor(private readonly stack: TerraformStack) {}

  /** Every dom0 of the stack now. */
  get dom0s(): readonly XenHost[] {
    return this.stack.node.findAll().filter(XenHost.isXenHost);
  }

  /** The content of `path` as `host` (a XenHost or a RoutedDomU) receives it; throws naming the paths it has. */
  hostFile(host: XenHost | RoutedDomU, path: string): string {
    const files = host._hostFiles();
    const file = files.find((f) => f.path === path);
    if (!file) throw new Error(`${host.node.path} receives no ${path}; it receives ${files.map((f) => f.path).join(", ")}`);
    return file.content;
  }

  /** Every file `host` receives: absolute path to content. */
  hostFiles(host: XenHost | RoutedDomU): Record<string, string> {
    return Object.fromEntries(host._hostFiles().map((f) => [f.path, f.content]));
  }

  /**
   * The model of one dom0 and its guests, read from the files they receive
   * now: constructs added or changed since the last question are in it.
   */
  model(dom0: XenHost): Reachability {
    const input = dom0ModelInput(dom0);
    const had = this.models.get(dom0);
    if (had && isDeepStrictEqual(had.input, input)) return had.model;
    const model = Reachability.fromFiles(input);
    this.models.set(dom0, { input, model });
    return model;
  }

  /** The dom0 one of whose guests has `address`. */
  dom0Of(address: string): XenHost {
    const dom0s = this.dom0s;
    const d = dom0s.find((x) => x.guests.some((g) => g.addresses.includes(address)));
    if (!d) throw new Error(`no guest of ${dom0s.map((x) => x.node.path).join(", ") || "(no dom0)"} has the address ${address}`);
    return d;
  }

  /** Both directions of a flow, from a client to a guest address and port, with the trace. */
  flow(question: FlowQuestion): FlowVerdict {
    return this.model(this.dom0Of(question.to)).flow(question);
  }

  /**
   * Whether a client's new connection to the dom0 itself (its uplink
   * address, in by the uplink) gets through its input firewall: iptables'
   * INPUT chain, or nftables' filter chains on the prerouting and input
   * hooks, as the files the dom0 receives load them. The lab checks the
   * model's reading of both against the kernel. Throws, naming it, on a question it cannot ask.
   */
  toDom0(dom0: XenHost, question: Dom0Question): Dom0Verdict {
    const { from, port, protocol = "tcp", sourcePort } = question;
    if (protocol !== "tcp" && protocol !== "udp") throw new Error(`toDom0 ${dom0.node.path}: protocol ${JSON.stringify(protocol)}: expected "tcp" or "udp"`);
    if (!isPort(port)) throw new Error(`toDom0 ${dom0.node.path}: port ${JSON.stringify(port)}: expected an integer from 1 to 65535`);
    if (sourcePort !== undefined && !isPort(sourcePort)) throw new Error(`toDom0 ${dom0.node.path}: sourcePort ${JSON.stringify(sourcePort)}: expected an integer from 1 to 65535`);
    const v = this.model(dom0)._toDom0({ protocol, from, port, sourcePort });
    return { outcome: v.outcome, text: v.text };
  }

  /**
   * Each socket of a vhost (its HTTP ports and its TLS port), Apache's Listen
   * and VirtualHost included: from `from`, else from the clients the proof at
   * synth asks from (in each source network a ForwardRule opens the socket
   * to, else a client on the uplink's subnet and one behind its router; never
   * an address of the dom0 or of a guest). Throws when a source has no such
   * client, rather than answer nothing.
   */
  serve(vhost: WebVhost, opts: { readonly from?: string } = {}): FlowVerdict[] {
    const v = vhost._vhostModel();
    const dom0 = this.dom0Of(v.address);
    const model = this.model(dom0);
    if (opts.from === undefined) {
      const { questions, unasked } = vhostQuestions(dom0, vhost);
      if (unasked.length) throw new Error(`${vhost.node.path}: ${unasked.map((u) => u.message).join("; ")}; pass { from } to ask from a client of your own`);
      return questions.map((q) => model.flow(q));
    }
    const from = opts.from;
    return [...v.httpPorts, ...(v.tls ? [v.tls.port] : [])].map((port) => model.flow({ from, to: v.address, port, apache: true }));
  }
}
