/**
 * The command table of `abq-pack`. Each command lives in its own file; add one line here to register it.
 */
import type { Command } from '../command.ts';
import { synthCommand } from './synth.ts';
import { pushCommand } from './push.ts';
import { pullCommand } from './pull.ts';
import { evalCommand } from './eval.ts';
import { generateCommand } from './generate.ts';
import { quantizeCommand } from './quantize.ts';
import { inspectCommand } from './inspect.ts';

export const commands: Command[] = [
  quantizeCommand,
  synthCommand,
  pushCommand,
  pullCommand,
  evalCommand,
  generateCommand,
  inspectCommand,
];
