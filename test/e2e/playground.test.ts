/**
 * The playground page in headless Chromium (Debian's chromium + playwright-core): type a prompt,
 * watch tokens stream into the page, see which path served and the node status.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { startEdgeServer, type StartedEdge } from '../../edge/node.ts';

const CHROMIUM = '/usr/bin/chromium';
const KEY = 'sk-playground-0123456789';
const run = existsSync(CHROMIUM) ? describe : describe.skip;

run(`playground in headless Chromium${existsSync(CHROMIUM) ? '' : ' (skipped: /usr/bin/chromium not installed; apt-get install -y chromium)'}`, () => {
  let edge: StartedEdge;
  let browser: Browser;

  beforeAll(async () => {
    edge = await startEdgeServer({ ABQ_API_KEYS: `pg:${KEY}`, ABQ_RATE_LIMIT_PER_MINUTE: '0' }, { port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await edge?.close();
  });

  it('streams a completion into the page and shows the serving path and node status', async () => {
    const page = await browser.newPage();
    await page.goto(edge.url + '/');
    await page.waitForSelector('#model option[value="stories260K"]', { state: 'attached' });
    await page.waitForSelector('#wasm');
    expect(await page.textContent('#nodes')).toContain('no GPU nodes configured');
    expect(await page.textContent('#wasm')).toContain('wasm:stories260K');

    await page.fill('#prompt', 'Once upon a time');
    await page.fill('#max_tokens', '48');
    await page.fill('#temperature', '0');
    await page.fill('#apikey', KEY);
    // Count how many times the output grows: streaming means many small updates, not one.
    await page.evaluate(() => {
      const w = window as unknown as { updates: number };
      w.updates = 0;
      new MutationObserver(() => w.updates++).observe(document.getElementById('output')!, { childList: true, characterData: true, subtree: true });
    });
    await page.click('#go');
    await page.waitForSelector('#meta[data-done="true"]', { timeout: 30_000 });
    const output = (await page.textContent('#output'))!;
    expect(output.length).toBeGreaterThan(30);
    expect(output).not.toContain('[error]');
    expect(await page.evaluate(() => (window as unknown as { updates: number }).updates)).toBeGreaterThan(5);
    expect(await page.textContent('#meta')).toMatch(/served by wasm \(wasm:stories260K\).*48 tokens/);
  });

  it('shows the API error when the key is wrong', async () => {
    const page = await browser.newPage();
    await page.goto(edge.url + '/');
    await page.waitForSelector('#model option[value="stories260K"]', { state: 'attached' });
    await page.fill('#apikey', 'sk-wrong-0000000000');
    await page.click('#go');
    await page.waitForSelector('#output.error');
    expect(await page.textContent('#output')).toContain('incorrect API key');
  });
});
