/**
 * The accuracy table's jobs: full precision, then every method at every configuration of the issue
 * (plus FlexQ's own W6A6/A8 mix). One row of CONFIGS per configuration; the methods come from the
 * --method registry, so a new method adds itself to the table.
 */
import { DEFAULT_SETTINGS, METHODS, type QuantSettings } from '../../shared/quant/index.ts';

export interface AccuracyConfig { id: string; label: string; settings: QuantSettings; epochs: number; lowBit: boolean }

/** Epochs per block: few where 8/6-bit RTN is already close to full precision, more for low bits. */
export const EPOCHS_HIGH_BITS = 2;
export const EPOCHS_LOW_BITS = 10;

const s = (w: QuantSettings['w'], a: number, group = 0): QuantSettings => ({ ...DEFAULT_SETTINGS, w, a, group, partialGroups: group > 0 });

export const CONFIGS: AccuracyConfig[] = [
  { id: 'w8a8', label: 'W8A8', settings: s(8, 8), epochs: EPOCHS_HIGH_BITS, lowBit: false },
  { id: 'w6a6', label: 'W6A6', settings: s(6, 6), epochs: EPOCHS_HIGH_BITS, lowBit: false },
  { id: 'w4a16', label: 'W4A16 (per channel)', settings: s(4, 16), epochs: EPOCHS_LOW_BITS, lowBit: false },
  { id: 'w4a16g32', label: 'W4A16 g32', settings: s(4, 16, 32), epochs: EPOCHS_LOW_BITS, lowBit: false },
  { id: 'w4a8', label: 'W4A8', settings: s(4, 8), epochs: EPOCHS_LOW_BITS, lowBit: false },
  { id: 'w4a4', label: 'W4A4', settings: s(4, 4), epochs: EPOCHS_LOW_BITS, lowBit: true },
  { id: 'w3a16', label: 'W3A16', settings: s(3, 16), epochs: EPOCHS_LOW_BITS, lowBit: true },
  { id: 'w2a16', label: 'W2A16', settings: s(2, 16), epochs: EPOCHS_LOW_BITS, lowBit: true },
  { id: 'w2stara8', label: 'W2*A8', settings: s('2*', 8), epochs: EPOCHS_LOW_BITS, lowBit: true },
  { id: 'w2a8', label: 'W2A8', settings: s(2, 8), epochs: EPOCHS_LOW_BITS, lowBit: true },
];

export const FLEXQ_CONFIG: AccuracyConfig = { id: 'w6a6mix', label: 'FlexQ W6A6/A8 mix (g32)', settings: s(6, 6, 32), epochs: 0, lowBit: false };

export interface AccuracyJob { id: string; method: string; config?: AccuracyConfig }

export function accuracyJobs(): AccuracyJob[] {
  const jobs: AccuracyJob[] = [{ id: 'fp', method: 'fp' }];
  for (const c of CONFIGS) for (const m of METHODS) if (!m.sensitivity) jobs.push({ id: `${m.name}-${c.id}`, method: m.name, config: c });
  jobs.push({ id: `flexq-${FLEXQ_CONFIG.id}`, method: 'flexq', config: FLEXQ_CONFIG });
  return jobs;
}
