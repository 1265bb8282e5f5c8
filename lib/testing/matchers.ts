/**
 * Jest matchers over a XenTemplate: `toServe(vhost)`, `toReach(flow)`,
 * `toBeDroppedAt(flow, stage?)`, `toReachDom0(dom0, question)`. A failure
 * prints the whole trace (for the dom0, the rule that decides).
 */
import { STAGES } from "../reachability";
import type { FlowQuestion, FlowVerdict, Stage } from "../reachability";
import type { WebVhost } from "../web-vhost";
import type { XenHost } from "../xen-host";
import type { Dom0Question, XenTemplate } from "./index";

/** A verdict and its hops, one per line, as the matchers print them. */
export function explain(v: FlowVerdict): string {
  return [v.summary, ...v.hops.map((h) => `    [${h.outcome}] ${h.host} ${h.stage}: ${h.text}`)].join("\n");
}

interface MatcherResult {
  pass: boolean;
  message: () => string;
}

const matchers = {
  toServe(received: XenTemplate, vhost: WebVhost, opts: { from?: string } = {}): MatcherResult {
    const verdicts = received.serve(vhost, opts);
    const failing = verdicts.filter((v) => !v.ok);
    return {
      pass: failing.length === 0,
      message: () =>
        failing.length
          ? `expected ${vhost.node.path} to be served, and its replies to come back:\n${failing.map(explain).join("\n")}`
          : `expected ${vhost.node.path} not to be served, but every socket answers:\n${verdicts.map((v) => v.summary).join("\n")}`,
    };
  },
  toReach(received: XenTemplate, question: FlowQuestion): MatcherResult {
    const v = received.flow(question);
    return {
      pass: v.ok,
      message: () => (v.ok ? `expected the flow not to get through, but: ${v.summary}` : `expected the flow to get through and its reply to come back:\n${explain(v)}`),
    };
  },
  toReachDom0(received: XenTemplate, dom0: XenHost, question: Dom0Question): MatcherResult {
    const v = received.toDom0(dom0, question);
    const what = `${question.protocol ?? "tcp"} ${question.from} -> ${dom0.node.path}:${question.port}`;
    // Neither toReachDom0 nor its .not may pass on what the files do not decide.
    if (v.outcome === "unknown") throw new Error(`toReachDom0: ${what}: the model cannot decide: ${v.text}`);
    return {
      pass: v.outcome === "pass",
      message: () => (v.outcome === "pass" ? `expected ${what} not to get through the dom0's input firewall, but: ${v.text}` : `expected ${what} to get through the dom0's input firewall, but: ${v.text}`),
    };
  },
  toBeDroppedAt(received: XenTemplate, question: FlowQuestion, stage?: Stage, host?: string): MatcherResult {
    // A misspelt stage or host would match no hop: `.not.toBeDroppedAt` would pass whatever the flow does.
    if (stage !== undefined && !(STAGES as readonly string[]).includes(stage)) throw new Error(`toBeDroppedAt: stage ${JSON.stringify(stage)}: expected one of ${STAGES.join(", ")}`);
    if (host !== undefined) {
      const dom0 = received.dom0Of(question.to);
      const hosts = received.model(dom0).hosts;
      if (!hosts.includes(host)) throw new Error(`toBeDroppedAt: host ${JSON.stringify(host)}: expected the dom0 or a guest of ${dom0.node.path} as the trace names them: ${hosts.join(", ")}`);
    }
    const v = received.flow(question);
    const f = v.failure;
    const pass = !v.ok && f?.outcome === "drop" && (stage === undefined || f.stage === stage) && (host === undefined || f.host === host);
    const where = `${stage ?? "any stage"}${host ? ` of ${host}` : ""}`;
    return {
      pass,
      message: () => (pass ? `expected the flow not to be dropped at ${where}, but:\n${explain(v)}` : `expected the flow to be dropped at ${where}:\n${explain(v)}`),
    };
  },
};

/** Adds the matchers to jest's `expect` (call it once, e.g. in a setup file or at the top of a test file). */
export function setupJest(): void {
  const e = (globalThis as { expect?: { extend(m: object): void } }).expect;
  if (!e) throw new Error("setupJest: no global expect; call it from a jest test file or setup file");
  e.extend(matchers);
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    interface Matchers<R> {
      /** Every socket of the vhost is delivered to Apache and its reply comes back: from `from`, else from every client the proof at synth asks from. */
      toServe(vhost: WebVhost, opts?: { from?: string }): R;
      /** The flow is delivered and its reply comes back. */
      toReach(question: FlowQuestion): R;
      /** The flow is dropped, at `stage` (and `host`) when given. */
      toBeDroppedAt(question: FlowQuestion, stage?: Stage, host?: string): R;
      /** A client's new connection to the dom0 itself gets through its input firewall (`.not`: it is dropped); throws when the files do not decide it. */
      toReachDom0(dom0: XenHost, question: Dom0Question): R;
    }
  }
}
