/**
 * Node-only: builds a Tokenizer from a model folder (tokenizer.json, optional tokenizer_config.json,
 * and the eos_token_id of generation_config.json or config.json, which can list several stop ids).
 * The tokenizer itself is runtime-free (tokenizer.ts); only this file touches the file system.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer } from './tokenizer.ts';

export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  const tokenizerJson = await readOptional(path.join(dir, 'tokenizer.json'));
  if (tokenizerJson === undefined) {
    throw new Error(
      `no tokenizer.json in ${dir}: this loader needs the Hugging Face fast-tokenizer file (a folder with only ` +
        `tokenizer.model must be converted first, e.g. with transformers' AutoTokenizer.save_pretrained)`,
    );
  }
  const tokenizerConfig = await readOptional(path.join(dir, 'tokenizer_config.json'));
  const extraEosIds: number[] = [];
  for (const name of ['generation_config.json', 'config.json']) {
    const text = await readOptional(path.join(dir, name));
    if (text === undefined) continue;
    const eos = (JSON.parse(text) as { eos_token_id?: unknown }).eos_token_id;
    for (const id of Array.isArray(eos) ? eos : [eos]) if (Number.isInteger(id)) extraEosIds.push(id as number);
  }
  return new Tokenizer({ tokenizerJson, tokenizerConfig, extraEosIds });
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
