/** The lab's state on disk: shared by the controller and the xl stand-in's callbacks. */
import * as fs from "fs";
import type { Topology } from "../private/topology";

export interface LabHostRecord {
  readonly netns: string;
  readonly root: string;
}

export interface LabState {
  readonly prefix: string;
  readonly workdir: string;
  /** Xen's config parser (libxlutil), compiled for this run. */
  readonly parser: string;
  readonly authorizedKeys: string;
  readonly topology: Topology;
  /** Files each guest finds at first boot (pages, certificates), by guest name. */
  readonly seeds: Record<string, { path: string; content: string; mode: string }[]>;
  readonly dom0s: Record<string, LabHostRecord>;
  guests: Record<string, LabHostRecord & { dom0: string; name: string }>;
  nextGuest: number;
}

export function loadState(file: string): LabState {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

export function saveState(file: string, state: LabState): void {
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}
