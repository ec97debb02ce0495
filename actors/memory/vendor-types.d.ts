// Minimal typings for the wink packages used here (they ship none).
declare module 'wink-nlp-utils' {
  const nlp: {
    string: { lowerCase(s: string): string; tokenize0(s: string): string[]; stem(s: string): string };
    tokens: { removeWords(t: string[]): string[]; stem(t: string[]): string[] };
  };
  export default nlp;
}
// The single-function modules of wink-nlp-utils and its stemmer that analyzer.ts imports directly.
declare module 'wink-nlp-utils/src/string-lower-case.js' {
  const f: (s: string) => string;
  export default f;
}
declare module 'wink-nlp-utils/src/string-tokenize0.js' {
  const f: (s: string) => string[];
  export default f;
}
declare module 'wink-nlp-utils/src/tokens-remove-words.js' {
  const f: (t: string[]) => string[];
  export default f;
}
declare module 'wink-porter2-stemmer' {
  const f: (s: string) => string;
  export default f;
}
// Minimal typing for wink-bm25-text-search (the memory bench compares it with bm25-index.ts).
declare module 'wink-bm25-text-search' {
  interface WinkBm25 {
    defineConfig(cfg: { fldWeights: Record<string, number>; bm25Params?: { k1?: number; b?: number; k?: number } }): boolean;
    definePrepTasks(tasks: Array<(input: any) => any>, field?: string): number;
    addDoc(doc: Record<string, string>, id: string | number): number;
    consolidate(fp?: number): boolean;
    search(text: string, limit?: number): Array<[string | number, number]>;
  }
  const factory: () => WinkBm25;
  export default factory;
}
