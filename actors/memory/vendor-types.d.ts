// Minimal typing for the parts of wink-nlp-utils used by the analyzer (the package ships none).
declare module 'wink-nlp-utils' {
  const nlp: {
    string: { lowerCase(s: string): string; tokenize0(s: string): string[]; stem(s: string): string };
    tokens: { removeWords(t: string[]): string[]; stem(t: string[]): string[] };
  };
  export default nlp;
}
