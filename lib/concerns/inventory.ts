/**
 * Inventories: a host's list of the names of one kind (guests, sites) the
 * code wants. A step that installs the new list removes what left it.
 */
import { STATE_DIR } from "../private/paths";
import type { StepModel } from "../deploy/step";

/** Path of a host's inventory of one kind. */
export function inventoryPath(kind: string): string {
  return `${STATE_DIR}/${kind}.list`;
}

/** The inventory file: one name a line, sorted. */
export function renderInventory(names: readonly string[]): string {
  return [...new Set(names)].sort().map((n) => `${n}\n`).join("");
}

/** What one kind of inventory does with the names that left it. */
export interface InventoryRemoval {
  /** The thing a name names, in messages: `guest`. */
  readonly noun: string;
  /** Shell run once before the removals. */
  readonly before: readonly string[];
  /** Shell that removes `$name` (indented, inside the loop). */
  readonly removeOne: readonly string[];
  /** Shell run once after the removals. */
  readonly after: readonly string[];
}

/**
 * Removes what left the code: names in the previous inventory (the step's
 * backup) but not in the new one.
 */
export function inventoryStep(host: string, kind: string, names: readonly string[], removal: InventoryRemoval): StepModel {
  const path = inventoryPath(kind);
  return {
    host,
    concern: kind,
    files: [{ path, content: renderInventory(names), mode: "0644" }],
    validate: "",
    activate: [
      `old=${path}.cdktf-xen.bak`,
      '[ -e "$old" ] || exit 0',
      ...removal.before,
      "while read -r name; do",
      "  case $name in ''|*[!a-z0-9-]*) continue ;; esac",
      `  if grep -qx "$name" ${path}; then continue; fi`,
      `  echo "removing ${removal.noun} $name"`,
      ...removal.removeOne,
      'done < "$old"',
      ...removal.after,
    ].join("\n"),
  };
}
