/** One temporary directory per test run: cdktf's Testing.app() leaves its outdirs behind otherwise. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export default function globalSetup(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-xen-test-"));
  process.env.CDKTF_XEN_TEST_TMP = dir;
  process.env.TMPDIR = dir;
}
