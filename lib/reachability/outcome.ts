/**
 * What one check of the model found. `unknown` carries the reason: the model
 * never turns something it cannot read into a pass.
 */
export type Outcome = "pass" | "drop" | "unknown";

/** Every stage a hop names. */
export const STAGES = ["arp", "rp_filter", "route", "firewall", "forwarding", "deliver", "listen"] as const;

/** Where a packet was checked, for test matchers (`toBeDroppedAt`) and readers. */
export type Stage = (typeof STAGES)[number];

/** One step of a packet's path, readable by a person. */
export interface Hop {
  /** The host where it happened: `client`, the dom0's id, or a guest's name. */
  readonly host: string;
  /** What the hop looked at: routing, the firewall, rp_filter, ... */
  readonly stage: Stage;
  /** What it did with the packet. */
  readonly outcome: Outcome;
  /** What happened, for a person: the interface, the table and rule, the firewall line. */
  readonly text: string;
  /**
   * A firewall hop whose outcome is unknown: what leaves it undecided, the
   * rule that may match and why (`rules.v4 line 12 "..." may match: match -m
   * mac not read by the model`), else the line the model cannot read.
   */
  readonly undecidedBy?: string;
}

/** Something in a file the model cannot read; a flow that depends on it is `unknown`. */
export interface Unreadable {
  /** The file, by its path on the host. */
  readonly file: string;
  /** The line number, from 1. */
  readonly line: number;
  /** The line as written. */
  readonly text: string;
  /** Why the model cannot read it. */
  readonly why: string;
}

export function unreadableText(u: Unreadable): string {
  return `${u.file} line ${u.line} ${JSON.stringify(u.text)}: ${u.why}`;
}

/** What a check says of the lines the model cannot read that leave it open: the first, and how many more; none, undefined. */
export function doubtText(list: readonly Unreadable[]): string | undefined {
  return list.length ? `the model cannot read ${unreadableText(list[0])}${list.length > 1 ? ` (and ${list.length - 1} more)` : ""}` : undefined;
}

/**
 * A setting the files leave open has several possible values; a check that
 * gives the same outcome for every one of them is decided, otherwise unknown.
 */
export function combine(outcomes: readonly Outcome[]): Outcome {
  // A loop of its own, not decide's: decide reads lists of numbers, and one compiled loop reading both would be compiled again.
  let pass = 0;
  let drop = 0;
  for (let i = 0; i < outcomes.length; i++) {
    if (outcomes[i] === "pass") pass++;
    else if (outcomes[i] === "drop") drop++;
  }
  return counted(pass, drop, outcomes.length);
}

/** The outcome of `total` possible values of which `pass` pass and `drop` drop: decided only when all agree. */
export function counted(pass: number, drop: number, total: number): Outcome {
  return total === 0 ? "unknown" : pass === total ? "pass" : drop === total ? "drop" : "unknown";
}

/**
 * {@link combine} of the outcome of each possible value, without a list of
 * outcomes: `passes` and `drops` say what one value does (an outcome may be
 * neither, for unknown).
 */
export function decide<T>(values: readonly T[], passes: (v: T) => boolean, drops?: (v: T) => boolean): Outcome {
  let pass = 0;
  let drop = 0;
  for (let i = 0; i < values.length; i++) {
    if (passes(values[i])) pass++;
    else if (drops === undefined || drops(values[i])) drop++;
  }
  return counted(pass, drop, values.length);
}

