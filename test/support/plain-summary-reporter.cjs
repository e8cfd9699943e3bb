// Prints the closing line CI readers look for, "N passed, N failed[, N skipped]", alone on
// a line after jest's own summary (which reads "Tests: N passed, N total").
class PlainSummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `${results.numPassedTests} passed, ${results.numFailedTests} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
    process.stdout.write(`${line}\n`);
  }
}
module.exports = PlainSummaryReporter;
