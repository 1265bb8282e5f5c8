/**
 * Where a value came from: the construct path and the prop, so that every
 * error tells a sysadmin exactly what to change.
 */
export interface PropSite {
  /** Construct path, e.g. `webserv/dom0/webserv`. */
  readonly path: string;
  /** Prop name as the user wrote it, e.g. `vifs[1].address`. */
  readonly prop: string;
}

/** Thrown for every invalid prop. The message names path, prop, value and what is allowed. */
export class XenPropError extends Error {
  constructor(
    /** The construct and the prop the value was given to. */
    readonly site: PropSite,
    /** The value as given. */
    readonly value: unknown,
    /** What the prop allows. */
    readonly allowed: string,
  ) {
    super(`${site.path}: ${site.prop} ${showValue(value)} is invalid: ${allowed}`);
    this.name = "XenPropError";
  }
}

/** Renders a value so that control characters and quotes stay visible. */
export function showValue(value: unknown): string {
  if (value === undefined) return "(missing)";
  if (typeof value === "string") return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The site of a nested prop: `at(site, "[2]")`, `at(site, ".mac")`. */
export function at(site: PropSite, suffix: string): PropSite {
  return { path: site.path, prop: `${site.prop}${suffix}` };
}
