#!/usr/bin/env node
// Lints an OpenAPI document with Redocly's lint engine (@redocly/openapi-core, the
// library behind `redocly lint`) and the rules of redocly.yaml beside this file.
// Usage: node lint.js FILE. Exits 1 on any problem, warnings included; offline.
'use strict';
const path = require('path');
const { loadConfig, lint, formatProblems, getTotals } = require('@redocly/openapi-core');
const { version } = require('@redocly/openapi-core/package.json');

async function main() {
	const file = process.argv[2];
	if (!file || process.argv.length !== 3) {
		console.error('usage: lint.js OPENAPI_FILE');
		return 2;
	}
	const config = await loadConfig({ configPath: path.join(__dirname, 'redocly.yaml') });
	const problems = await lint({ ref: path.resolve(file), config });
	const totals = getTotals(problems);
	formatProblems(problems, { format: 'codeframe', totals, version, maxProblems: 200, color: false });
	if (totals.errors + totals.warnings > 0) {
		console.error(`openapi lint: ${file}: ${totals.errors} errors, ${totals.warnings} warnings`);
		return 1;
	}
	console.log(`openapi lint: ${file} is valid (@redocly/openapi-core ${version}, ${totals.ignored} ignored)`);
	return 0;
}

main().then(
	(code) => process.exit(code),
	(err) => {
		console.error(`openapi lint: ${err && err.stack ? err.stack : err}`);
		process.exit(2);
	},
);
