import type { IConstruct } from "constructs";
import { TerraformResource } from "../private/cdk";
import { PropSite, XenPropError } from "./errors";

/**
 * `id` for a new child of `scope`, when no child has it yet: constructs'
 * own error ("There is already a Construct with name ...") names neither
 * what holds the id nor what to do.
 */
export function freeChildId(scope: IConstruct, id: string): string {
  const taken = scope.node.tryFindChild(id);
  if (taken) {
    const kind = taken.constructor.name;
    const holder = TerraformResource.isTerraformResource(taken) ? "one of its own deploy steps" : `a ${kind}`;
    throw new XenPropError({ path: `${scope.node.path}/${id}`, prop: "id (the construct id)" }, id, `${scope.node.path || "the app"} already has a child with this id (${holder}): give each construct under it an id of its own`);
  }
  return id;
}

/**
 * Names become file names, Xen domain names and interface names: lower-case
 * letters, digits and hyphens, starting with a letter or digit.
 */
export function parseName(value: unknown, site: PropSite, maxLength = 32): string {
  if (typeof value !== "string" || !/^[a-z0-9][a-z0-9-]*$/.test(value) || value.length > maxLength) {
    throw new XenPropError(site, value, `expected a name of 1-${maxLength} characters matching [a-z0-9][a-z0-9-]* (it becomes a file and interface name)`);
  }
  return value;
}

/** A Linux interface name: at most 15 characters, no `/`, whitespace or `:`. */
export function parseInterfaceName(value: unknown, site: PropSite, maxLength = 15): string {
  if (typeof value !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(value) || value.length > maxLength) {
    throw new XenPropError(site, value, `expected an interface name of 1-${maxLength} characters from [A-Za-z0-9_.-]`);
  }
  return value;
}

/**
 * An absolute path on a host. Only characters that need no quoting in shell,
 * Apache or xl files; no `.` or `..` components, no `//`.
 */
export function parseAbsolutePath(value: unknown, site: PropSite): string {
  if (typeof value !== "string" || !/^\/[A-Za-z0-9._+@%=-]*(\/[A-Za-z0-9._+@%=-]+)*$/.test(value) || value.length > 4096) {
    throw new XenPropError(site, value, "expected an absolute path made of [A-Za-z0-9._+@%=-] components separated by single slashes");
  }
  if (value.split("/").some((c) => c === "." || c === "..")) {
    throw new XenPropError(site, value, "'.' and '..' are not allowed in paths; write the path out in full");
  }
  return value;
}

const LABEL = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
const HOSTNAME = new RegExp(`^${LABEL}(\\.${LABEL})*$`);

/** A DNS host name (RFC 1123), lower-cased; `allowWildcard` permits a leading `*.` (ServerAlias). */
export function parseHostname(value: unknown, site: PropSite, allowWildcard = false): string {
  const text = typeof value === "string" ? value.toLowerCase() : value;
  const bare = typeof text === "string" && allowWildcard && text.startsWith("*.") ? text.slice(2) : text;
  if (typeof bare !== "string" || !HOSTNAME.test(bare) || bare.length > 253) {
    throw new XenPropError(site, value, `expected a host name such as www.example.org${allowWildcard ? " (or *.example.org)" : ""}`);
  }
  return text as string;
}

/** A whole number within [min, max]. */
export function parseInteger(value: unknown, site: PropSite, min: number, max: number, unit = ""): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new XenPropError(site, value, `expected a whole number from ${min} to ${max}${unit}`);
  }
  return value;
}

/** A construct id that names a host: its preview directory and its deploy messages. */
export function parseHostId(value: unknown, site: PropSite): string {
  if (typeof value !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(value)) {
    throw new XenPropError(site, value, "expected a construct id of 1-63 characters from [A-Za-z0-9_.-], starting with a letter or digit (it names the host's preview directory)");
  }
  return value;
}
