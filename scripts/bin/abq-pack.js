#!/usr/bin/env node
// Entry point of `npx abq-pack`: registers tsx so the TypeScript sources run as they are (no build
// step between editing and running), then hands over to the command table.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
