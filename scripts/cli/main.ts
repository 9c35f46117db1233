/**
 * abq-pack: the offline tool of the project (quantize, eval, generate, synth, push, pull).
 * Thin over library functions in shared/; this file only parses arguments and prints help.
 */
import { parseArgs } from 'node:util';
import { type Command, UsageError } from './command.ts';
import { commands } from './commands/index.ts';

const PROGRAM = 'abq-pack';

export function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  const lines = [
    `Usage: ${PROGRAM} <command> [options]`,
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    `Run '${PROGRAM} <command> --help' for the options of one command.`,
  ];
  return lines.join('\n');
}

export function commandUsage(cmd: Command): string {
  const pos = cmd.positionals.map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`)).join(' ');
  const lines = [`Usage: ${PROGRAM} ${cmd.name}${pos ? ' ' + pos : ''} [options]`, '', cmd.summary];
  if (cmd.details) lines.push('', cmd.details);
  if (cmd.positionals.length) {
    lines.push('', 'Arguments:');
    for (const p of cmd.positionals) lines.push(`  ${p.name.padEnd(22)}  ${p.description}`);
  }
  const opts = Object.entries(cmd.options);
  lines.push('', 'Options:');
  for (const [name, spec] of opts) {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` ${spec.valueName ?? '<value>'}` : ''}`;
    let desc = spec.description;
    if (spec.enum) desc += ` (one of: ${spec.enum.join(', ')})`;
    if (spec.default !== undefined && spec.default !== false) desc += ` [default: ${String(spec.default)}]`;
    lines.push(`  ${flag.padEnd(30)}  ${desc}`);
  }
  lines.push(`  ${'-h, --help'.padEnd(30)}  Show this help`);
  if (cmd.examples?.length) lines.push('', 'Examples:', ...cmd.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

/** Node 20's parseArgs rejects option keys that are present with the value undefined. */
function withoutUndefined<T extends object>(spec: T): T {
  return Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as T;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V') {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    console.log(pkg.version);
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`${PROGRAM}: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(
          Object.entries(cmd.options).map(([k, o]) => [
            k,
            withoutUndefined({ type: o.type, short: o.short, multiple: o.multiple, default: o.default as never }),
          ]),
        ),
      },
    });
  } catch (err) {
    console.error(`${PROGRAM} ${cmd.name}: ${(err as Error).message}\n\n${commandUsage(cmd)}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(commandUsage(cmd));
    return 0;
  }
  try {
    const required = cmd.positionals.filter((p) => p.required);
    if (parsed.positionals.length < required.length) {
      throw new UsageError(`missing argument <${required[parsed.positionals.length].name}>`);
    }
    if (parsed.positionals.length > cmd.positionals.length) {
      throw new UsageError(`unexpected argument '${parsed.positionals[cmd.positionals.length]}'`);
    }
    for (const [k, o] of Object.entries(cmd.options)) {
      const v = (parsed.values as Record<string, unknown>)[k];
      if (o.enum && typeof v === 'string' && !o.enum.includes(v)) {
        throw new UsageError(`--${k} must be one of ${o.enum.join(', ')}, got '${v}'`);
      }
    }
    return await cmd.run(parsed.positionals, parsed.values as never);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${PROGRAM} ${cmd.name}: ${err.message}\n\n${commandUsage(cmd)}`);
      return 2;
    }
    console.error(`${PROGRAM} ${cmd.name}: ${(err as Error).message}`);
    if (process.env.ABQ_DEBUG) console.error(err);
    return 1;
  }
}
