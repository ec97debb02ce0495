/**
 * Files the local provider needs, in the Transformers.js / Hugging Face hub layout, with the sha256
 * pinned from the project's model build (../shared/models/all-MiniLM-L6-v2/README.md). A mirror
 * must serve these exact bytes; a different build needs its hashes in `embedder.local.sha256`.
 */
import type { Precision } from './onnx-embedder.js';
import { modelFileFor } from './onnx-embedder.js';

export interface ModelFile {
  name: string;
  sha256?: string;
  size?: number;
}

export const PINNED: Record<string, { sha256: string; size: number }> = {
  'onnx/model.onnx': { sha256: 'd4657baf8c7f0850e237b20328914c1d87b3344908ebc9bf2b29a61207d0eba4', size: 90_291_167 },
  'onnx/model_quantized.onnx': { sha256: 'c6c9a5f1d1811e5b285f2b95af818cb6b3264249ded3b3844fda0784c69f255d', size: 23_400_085 },
  'tokenizer.json': { sha256: 'be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037', size: 466_247 },
  'tokenizer_config.json': { sha256: '1fb767401a2674b241081c460adb4d52739009e573e8f5bf4183954a5051a8ce', size: 426 },
  'config.json': { sha256: '953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41', size: 612 },
};

/** The files to fetch for one precision; `overrides` (config) replace pinned hashes file by file. */
export function filesFor(precision: Precision, overrides: Record<string, string> = {}): ModelFile[] {
  return ['config.json', 'tokenizer.json', 'tokenizer_config.json', modelFileFor(precision)].map((name) => {
    const pinned = PINNED[name];
    const sha256 = overrides[name] ?? pinned?.sha256;
    // A size is only known for the pinned build.
    const size = overrides[name] ? undefined : pinned?.size;
    return { name, ...(sha256 ? { sha256 } : {}), ...(size ? { size } : {}) };
  });
}
