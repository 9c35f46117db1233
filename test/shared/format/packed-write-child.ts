/**
 * Child process for the "killed mid-write" test: starts a packed write into argv[2], writes one
 * layer, prints "started", then waits to be killed (SIGKILL) before it can finish.
 */
import { PackedModelWriter } from '../../../shared/format/packed-write.ts';
import { smallPackedModel } from './packed-fixtures.ts';

const model = smallPackedModel(7);
const w = await PackedModelWriter.create(process.argv[2], {
  ...model,
  layers: model.layers.map((l) => l.spec),
  floats: model.floats.map(({ name, dtype, shape }) => ({ name, dtype, shape })),
});
await w.addLayer(model.layers[0].spec.name, model.layers[0].weights);
process.stdout.write('started\n');
setInterval(() => undefined, 1000); // keep the process alive until killed
