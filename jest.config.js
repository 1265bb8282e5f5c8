/** @type {import('jest').Config} */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test", "<rootDir>/examples"],
  // The examples import the package as its users do.
  moduleNameMapper: { "^cdktf-xen/(testing|lab)$": "<rootDir>/lib/$1", "^cdktf-xen$": "<rootDir>/lib" },
  testMatch: ["**/*.test.ts"],
  // Tests that run real tools (ifup, iptables-restore, apache2ctl) share the
  // machine's namespaces and ports: keep them in one worker.
  maxWorkers: 1,
  testTimeout: 60000,
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  globalTeardown: "<rootDir>/test/support/global-teardown.ts",
};
