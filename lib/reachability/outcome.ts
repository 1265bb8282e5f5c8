/**
 * What one check of the model found. `unknown` carries the reason: the model
 * never turns something it cannot read into a pass.
 */
export type Outcome = "pass" | "drop" | "unknown";

/** Where a packet was checked, for test matchers (`toBeDroppedAt`) and readers. */
export type Stage = "arp" | "rp_filter" | "route" | "firewall" | "forwarding" | "deliver" | "listen";

/** One step of a packet's path, readable by a person. */
export interface Hop {
  /** The host where it happened: `client`, the dom0's id, or a guest's name. */
  readonly host: string;
  readonly stage: Stage;
  readonly outcome: Outcome;
  readonly text: string;
}

/** Something in a file the model cannot read; a flow that depends on it is `unknown`. */
export interface Unreadable {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly why: string;
}

export function unreadableText(u: Unreadable): string {
  return `${u.file} line ${u.line} ${JSON.stringify(u.text)}: ${u.why}`;
}

/**
 * A setting the files leave open has several possible values; a check that
 * gives the same outcome for every one of them is decided, otherwise unknown.
 */
export function combine(outcomes: readonly Outcome[]): Outcome {
  if (outcomes.length === 0) return "unknown";
  if (outcomes.every((o) => o === "pass")) return "pass";
  if (outcomes.every((o) => o === "drop")) return "drop";
  return "unknown";
}
