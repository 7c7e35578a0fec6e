// Prints what npm dotenv + dotenv-expand make of each file: {"path": {key: value}}.
// processEnv is an empty object, so only the file's own keys take part in expansion.
const fs = require('fs');
const dotenv = require('dotenv');
const { expand } = require('dotenv-expand');

const out = {};
for (const path of process.argv.slice(2)) {
  const parsed = dotenv.parse(fs.readFileSync(path));
  out[path] = expand({ parsed, processEnv: {} }).parsed;
}
console.log(JSON.stringify(out));
