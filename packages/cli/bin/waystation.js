#!/usr/bin/env node
// The sources are TypeScript, run through tsx's loader; no build step is needed after `npm install`.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv);
