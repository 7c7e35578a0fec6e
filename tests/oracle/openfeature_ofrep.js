// An app reading its flags with OpenFeature's Node server SDK and its OFREP provider, from
// the address `dozen run` gives every process. Prints one flag's details for a targeting key.
// Usage: node openfeature_ofrep.js FLAG TARGETING_KEY
const { OpenFeature } = require("@openfeature/server-sdk");
const { OFREPProvider } = require("@openfeature/ofrep-provider");

(async () => {
  const [flag, key] = process.argv.slice(2);
  await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl: process.env.OFREP_ENDPOINT }));
  const details = await OpenFeature.getClient().getBooleanDetails(flag, false, { targetingKey: key });
  process.stdout.write(JSON.stringify(details) + "\n");
})().catch((e) => {
  process.stderr.write(`${e}\n`);
  process.exit(1);
});
