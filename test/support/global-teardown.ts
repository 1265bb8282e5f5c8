import * as fs from "fs";

export default function globalTeardown(): void {
  const dir = process.env.CDKTF_XEN_TEST_TMP;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
