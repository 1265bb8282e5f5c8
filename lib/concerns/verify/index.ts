/**
 * The check after a deploy: a step on the dom0, run after its firewall and
 * every guest's Apache, that asks each vhost address:port over HTTP(S) from
 * the dom0, through the vif routes, and fails the deploy naming each vhost
 * that does not answer and why. It writes no file; the probes are in sh/.
 */
import type { VhostModel } from "../../model";
import { shellAssignments, shellSource } from "../../render/shell-source";
import type { StepModel } from "../../deploy/step";

/** Context key: `false` turns the check after deploy off (with a warning). */
export const VERIFY_CONTEXT_KEY = "cdktf-xen:verify";

/** Seconds a probe waits for a connection (the whole request may take twice that); a timeout is asked again once. */
export const VERIFY_TIMEOUT_SECONDS = 5;

/** What a vhost's page must be for the check to pass. */
export interface VhostExpectation {
  /** The path asked for, e.g. `/`. */
  readonly path: string;
  /** The HTTP status it must answer; undefined: any below 500. */
  readonly status?: number;
  /** Text the page must contain; undefined: any page. */
  readonly contains?: string;
}

/** One vhost to ask, with what it must answer. */
export interface VerifiedVhost {
  readonly vhost: VhostModel;
  readonly expect: VhostExpectation;
}

const PROBES = shellSource(__dirname, "sh/verify-vhosts.sh");

/** One line of the probe list per socket: every value is checked before it gets here, the text travels base64. */
function socketLines(v: VerifiedVhost): string[] {
  const { vhost, expect } = v;
  const tail = [expect.path, expect.status === undefined ? "-" : String(expect.status), expect.contains === undefined ? "-" : Buffer.from(expect.contains, "utf8").toString("base64")];
  return [
    ...vhost.httpPorts.map((p) => ["http", p]),
    ...(vhost.tls ? [["https", vhost.tls.port]] : []),
  ].map(([scheme, port]) => [vhost.name, scheme, vhost.address, String(port), vhost.serverName, ...tail].join(" "));
}

/**
 * The dom0's check after deploy. `after` is a digest of the steps it follows,
 * so that it runs again whenever one of them changes.
 */
export function verifyStep(host: string, vhosts: readonly VerifiedVhost[], after: string, timeoutSeconds = VERIFY_TIMEOUT_SECONDS): StepModel {
  return {
    host,
    concern: "verify",
    files: [],
    validate: ":",
    activate: [
      `# Runs again whenever a step it follows changes: ${after}`,
      shellAssignments([
        ["TIMEOUT", String(timeoutSeconds)],
        ["VHOSTS", vhosts.flatMap(socketLines).join("\n")],
      ]).trimEnd(),
      PROBES,
      "verify_vhosts",
    ].join("\n"),
  };
}
