/**
 * A bounded WordPiece for `@huggingface/tokenizers`: its JS WordPiece tries every substring of a
 * word and rebuilds each from a character array, O(n³) in the word's length (a 64-character hex
 * line cost 35 ms, a 600-character base64 chunk 143 ms, prose 0.4 ms). This replaces the model's
 * `encode` on a loaded tokenizer with the same greedy longest-match-first algorithm (same
 * continuing-subword prefix, same [UNK] rule, same max_input_chars_per_word) that only tries
 * candidates up to the longest vocabulary entry, O(n × longest²). Output is identical; a test
 * compares both on text and on hostile input.
 */
interface WordPieceModel {
  config: { continuing_subword_prefix?: string };
  tokens_to_ids: Map<string, number>;
  unk_token: string;
  max_input_chars_per_word: number;
  encode(words: string[]): string[];
}

export function boundWordPiece(tokenizer: unknown): boolean {
  const model = (tokenizer as { model?: WordPieceModel }).model;
  if (!model || typeof model.encode !== 'function' || !(model.tokens_to_ids instanceof Map) || model.max_input_chars_per_word === undefined) return false;
  const prefix = model.config.continuing_subword_prefix ?? '##';
  let longest = 1;
  for (const key of model.tokens_to_ids.keys()) {
    const chars = [...(key.startsWith(prefix) ? key.slice(prefix.length) : key)].length;
    if (chars > longest) longest = chars;
  }
  const vocab = model.tokens_to_ids;
  model.encode = (words: string[]): string[] => {
    const out: string[] = [];
    for (const word of words) {
      // Code points, as the library counts them; plain string slices when there are no astral characters.
      const chars = /[\ud800-\udfff]/.test(word) ? [...word] : null;
      const len = chars ? chars.length : word.length;
      const sub = (a: number, b: number) => (chars ? chars.slice(a, b).join('') : word.slice(a, b));
      if (len > model.max_input_chars_per_word) {
        out.push(model.unk_token);
        continue;
      }
      const pieces: string[] = [];
      let bad = false;
      for (let i = 0; i < len; ) {
        let found: string | null = null;
        let end = Math.min(len, i + longest);
        for (; end > i; end--) {
          let d = sub(i, end);
          if (i > 0) d = prefix + d;
          if (vocab.has(d)) {
            found = d;
            break;
          }
        }
        if (found === null) {
          bad = true;
          break;
        }
        pieces.push(found);
        i = end;
      }
      if (bad) out.push(model.unk_token);
      else for (const p of pieces) out.push(p);
    }
    return out;
  };
  return true;
}
