// Prints jest's JSON result as one plain line that CI reads: "N passed, N failed, N skipped".
const { readFileSync } = require('node:fs');

const result = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const failedSuites = result.numFailedTestSuites - (result.testResults || []).filter((s) => s.assertionResults.some((a) => a.status === 'failed')).length;
const failed = result.numFailedTests + Math.max(0, failedSuites);
console.log(`${result.numPassedTests} passed, ${failed} failed, ${result.numPendingTests} skipped`);
if (result.numTotalTests === 0) {
  console.error('no test ran');
  process.exit(1);
}
