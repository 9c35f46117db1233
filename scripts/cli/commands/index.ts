/**
 * The command table of `abq-pack`. Each command lives in its own file; add one line here to register it.
 */
import type { Command } from '../command.ts';
import { synthCommand } from './synth.ts';

export const commands: Command[] = [
  synthCommand,
];
