/** The keys of the proofs a stack's directory remembers (lib/private/proof-cache.ts). */
import * as fs from "fs";
import * as path from "path";
import { PROOF_CACHE_FILE } from "../../lib/private/proof-cache";

export function provenKeys(stackDir: string): string[] {
  return JSON.parse(fs.readFileSync(path.join(stackDir, PROOF_CACHE_FILE), "utf8")).proven;
}
