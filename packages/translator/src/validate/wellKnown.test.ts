import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatDuration, formatTimestamp, parseDurationJson, parseTimestampJson } from "./wellKnown.js";

describe("Duration JSON", () => {
  const cases: [string, bigint | undefined][] = [
    ["1s", 1_000_000_000n], ["1.5s", 1_500_000_000n], ["-0.001s", -1_000_000n], ["0.000000001s", 1n], ["0s", 0n],
    ["315576000000s", 315_576_000_000_000_000_000n], ["315576000001s", undefined], ["1", undefined], ["1.s", undefined],
    ["1.0000000001s", undefined], [" 1s", undefined], ["1m", undefined], ["+1s", undefined],
  ];
  for (const [text, nanos] of cases) it(text, () => assert.equal(parseDurationJson(text), nanos));
  it("formats", () => {
    assert.deepEqual([0n, 1n, -1_500_000_000n, 4_294_967_296_000_000_000n].map(formatDuration), ["0s", "0.000000001s", "-1.5s", "4294967296s"]);
  });
});

describe("Timestamp JSON", () => {
  const cases: [string, string | undefined][] = [
    ["1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"],
    ["2024-02-29T12:30:00.5Z", "2024-02-29T12:30:00.5Z"],
    ["2024-03-01T01:00:00+01:00", "2024-03-01T00:00:00Z"],
    ["1969-12-31T23:59:59.999999999Z", "1969-12-31T23:59:59.999999999Z"],
    ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"],
    ["2023-02-29T00:00:00Z", undefined], ["2024-13-01T00:00:00Z", undefined], ["2024-01-01T24:00:00Z", undefined],
    ["2024-01-01 00:00:00Z", undefined], ["2024-01-01t00:00:00z", undefined], ["0000-12-31T23:59:59Z", undefined],
  ];
  for (const [text, canonical] of cases) {
    it(text, () => {
      const nanos = parseTimestampJson(text);
      assert.equal(nanos === undefined ? undefined : formatTimestamp(nanos), canonical);
    });
  }
});
