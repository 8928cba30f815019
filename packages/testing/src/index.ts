export { expectGolden, goldenCases, goldenYaml, pruneGolden, updating, type GoldenCase } from "./golden.js";
