/**
 * The f32 reference forward (shared/model LlamaModel) as a backend: the oracle the other backends
 * are compared with, and the GPU node's `--backend reference`.
 */
import type { LlamaModel } from '../../shared/model/llama.ts';
import { LocalModelBackend, type StepModel } from './local-model.ts';

export function referenceStepModel(model: LlamaModel): StepModel {
  const c = model.config;
  const perLayer = c.hiddenSize * (c.numHeads * c.headDim) * 2 + c.hiddenSize * (c.numKvHeads * c.headDim) * 2 + 3 * c.hiddenSize * c.intermediateSize;
  return {
    vocabSize: c.vocabSize,
    contextLength: c.maxPositionEmbeddings,
    parameterCount: c.vocabSize * c.hiddenSize * (c.tieWordEmbeddings ? 1 : 2) + c.numLayers * perLayer,
    newSession(maxSeq) {
      const cache = model.newCache(maxSeq);
      return { forward: (tokens) => model.forward(tokens, cache) };
    },
  };
}

export function createReferenceBackend(model: LlamaModel, modelId: string): LocalModelBackend {
  return new LocalModelBackend({ id: `reference:${modelId}`, kind: 'reference', modelIds: [modelId], model: referenceStepModel(model) });
}
