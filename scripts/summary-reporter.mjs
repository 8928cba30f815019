// A node:test reporter that prints only the closing tally, as the plain line CI reads.
// Suites are not counted; a skipped or todo test counts as skipped.
export default async function* summary(source) {
  let passed = 0, failed = 0, skipped = 0;
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const { data } = event;
    if (data.details?.type === "suite") {
      // A suite fails on its own only when a hook fails; count that as one failure.
      if (event.type === "test:fail" && data.details?.error?.failureType === "hookFailed") failed++;
      continue;
    }
    if (data.skip !== undefined || data.todo !== undefined) skipped++;
    else if (event.type === "test:pass") passed++;
    else failed++;
  }
  yield `\n${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}
