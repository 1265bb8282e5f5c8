import { PropSite, XenPropError } from "./errors";
import { parseAbsolutePath } from "./names";

/** The keys of xl-disk-configuration(5) a spec may use; others (`script=`, `backend=`, ...) are refused. */
const KEYS = ["target", "vdev", "access", "format", "devtype"] as const;
const FORMATS = ["raw", "qcow", "qcow2", "vhd", "qed"];
const ACCESS = ["r", "ro", "w", "rw"];
const DEVTYPES = ["disk", "cdrom"];
/** Prefixes of the legacy positional target (`phy:/dev/vg0/web`). */
const PREFIXES = /^(phy:|file:|raw:|qcow2?:|vhd:|aio:|tap2?:aio:)/;
const VDEV = /^(xvd|hd|sd)[a-z]{1,3}\d{0,2}$/;

export const DISK_ALLOWED =
  "expected an xl disk spec: target, vdev and access (phy:/dev/vg0/web,xvda,w), optionally format (target,format,vdev,access), " +
  "or the keys target=, vdev=, access=, format=, devtype=; targets under /dev/ or a directory of XenHost diskImageDirectories";

/**
 * One xl disk spec, allowed only in the forms the README documents: no
 * `script=` (xl runs it as root at `xl create`), no `backend=`, and a target
 * that is a block device under `/dev/` or an image under one of
 * `imageDirectories`, written out in full.
 */
export function parseDiskSpec(value: unknown, site: PropSite, imageDirectories: readonly string[]): string {
  if (typeof value !== "string" || !/^[A-Za-z0-9 ._=:,/+@-]+$/.test(value)) throw new XenPropError(site, value, DISK_ALLOWED);
  const parts = value.split(",").map((p) => p.trim());
  const keyed = new Map<string, string>();
  const positional: string[] = [];
  for (const p of parts) {
    const eq = p.indexOf("=");
    if (eq < 0) {
      positional.push(p);
      continue;
    }
    const key = p.slice(0, eq);
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new XenPropError(site, value, `${key}= is not allowed (${key === "script" ? "xl runs a disk script as root on the dom0" : key === "backend" ? "it hands the disk to another domain" : "not among the keys the library allows"}); ${DISK_ALLOWED}`);
    }
    if (keyed.has(key)) throw new XenPropError(site, value, `${key}= appears twice; ${DISK_ALLOWED}`);
    keyed.set(key, p.slice(eq + 1));
  }
  if (positional.length && keyed.size) throw new XenPropError(site, value, `mixes positional values and keys; ${DISK_ALLOWED}`);
  if (positional.length) {
    const names = positional.length === 3 ? ["target", "vdev", "access"] : positional.length === 4 ? ["target", "format", "vdev", "access"] : undefined;
    if (!names) throw new XenPropError(site, value, DISK_ALLOWED);
    names.forEach((n, i) => keyed.set(n, positional[i]));
    // xl reads a prefix (phy:, file:) as the format: three values need one, four (with the format) take none.
    if (positional.length === 4 && PREFIXES.test(positional[0])) throw new XenPropError(site, value, `a target with a prefix (${PREFIXES.exec(positional[0])![0]}) takes no format beside it: write target,format,vdev,access without the prefix; ${DISK_ALLOWED}`);
    if (positional.length === 3 && !PREFIXES.test(positional[0])) throw new XenPropError(site, value, `three values need a target with its prefix (phy:/dev/..., file:/...), or write target,format,vdev,access; ${DISK_ALLOWED}`);
  }
  const format = keyed.get("format");
  if (format !== undefined && !FORMATS.includes(format)) throw new XenPropError(site, value, `format ${JSON.stringify(format)}: expected one of ${FORMATS.join(", ")}`);
  const access = keyed.get("access");
  if (access !== undefined && !ACCESS.includes(access)) throw new XenPropError(site, value, `access ${JSON.stringify(access)}: expected one of ${ACCESS.join(", ")}`);
  const devtype = keyed.get("devtype");
  if (devtype !== undefined && !DEVTYPES.includes(devtype)) throw new XenPropError(site, value, `devtype ${JSON.stringify(devtype)}: expected one of ${DEVTYPES.join(", ")}`);
  const vdev = keyed.get("vdev");
  if (vdev === undefined || !VDEV.test(vdev)) throw new XenPropError(site, value, `vdev ${JSON.stringify(vdev ?? "")}: expected a virtual device such as xvda, xvdb1, hda or sdb`);
  const target = keyed.get("target");
  if (!target) throw new XenPropError(site, value, `no target; ${DISK_ALLOWED}`);
  const file = target.replace(PREFIXES, "");
  let where: string;
  try {
    where = parseAbsolutePath(file, site);
  } catch (e) {
    throw new XenPropError(site, value, `target ${JSON.stringify(file)}: ${(e as XenPropError).allowed}`);
  }
  const allowed = ["/dev", ...imageDirectories];
  if (!allowed.some((d) => where.startsWith(`${d}/`))) {
    throw new XenPropError(site, value, `target ${where} is outside /dev/${imageDirectories.length ? ` and ${imageDirectories.join(", ")}` : ""}: a guest may be handed only block devices, or images under a directory of XenHost diskImageDirectories`);
  }
  return value;
}
