// flagd's own evaluator (@openfeature/flagd-core, the in-process core of flagd's JS
// providers): which of N targeting keys get a flag's given variant, for the bucketing test.
// Usage: node flagd_bucketing.js FLAGS_FILE FLAG VARIANT N PREFIX
const fs = require("fs");
const { FlagdCore } = require("@openfeature/flagd-core");

const [file, flag, variant, n, prefix] = process.argv.slice(2);
const logger = { error() {}, warn() {}, info() {}, debug() {} };
const core = new FlagdCore(undefined, logger);
core.setConfigurations(fs.readFileSync(file, "utf8"));
const hits = [];
for (let i = 0; i < Number(n); i++) {
  const result = core.resolveBooleanEvaluation(flag, false, { targetingKey: `${prefix}${i}` }, logger);
  if (result.variant === variant) hits.push(i);
}
process.stdout.write(JSON.stringify(hits) + "\n");
