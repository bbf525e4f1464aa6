#!/usr/bin/env node
// The `leadevents` command: runs the TypeScript CLI through tsx (a runtime dependency).
import { register } from "tsx/esm/api";
register();
process.env.LEADEVENTS_CLI_MAIN = "1";
await import("../src/cli/main.ts");
