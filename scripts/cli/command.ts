/**
 * The shape of one CLI command. One declarative table (commands/index.ts) drives both argument
 * parsing (node:util parseArgs) and the help text, so the two cannot drift apart.
 */
export interface OptionSpec {
  type: 'string' | 'boolean';
  /** One-line description for --help. */
  description: string;
  short?: string;
  default?: string | boolean;
  /** Allowed values, checked before the command runs. */
  enum?: readonly string[];
  /** Placeholder shown in help, e.g. '<dir>'. */
  valueName?: string;
  multiple?: boolean;
}

export interface PositionalSpec {
  name: string;
  description: string;
  required: boolean;
}

export type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface Command {
  name: string;
  summary: string;
  /** Longer text shown by `abq-pack <command> --help`. */
  details?: string;
  positionals: readonly PositionalSpec[];
  options: Record<string, OptionSpec>;
  examples?: readonly string[];
  /** Runs the command; returns the process exit code. Throwing UsageError prints usage. */
  run(positionals: string[], options: OptionValues): Promise<number>;
}

/** A mistake in how the command was called: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Reads a numeric option, with a clear error naming the option when it is not a number. */
export function numberOption(options: OptionValues, name: string, fallback?: number): number {
  const raw = options[name];
  if (raw === undefined || raw === '') {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(value)) throw new UsageError(`--${name} must be a number, got '${String(raw)}'`);
  return value;
}

/** Reads an integer option within [min, max]. */
export function intOption(options: OptionValues, name: string, fallback: number | undefined, min: number, max: number): number {
  const value = numberOption(options, name, fallback);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}
