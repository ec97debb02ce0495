/**
 * InjectionDetector: scores text for prompt-injection / jailbreak content with weighted pattern
 * families (instruction override, persona hijack, jailbreak vocabulary, prompt extraction, fake
 * chat-template roles, text addressed to the model, output directives, exfiltration). Each family
 * counts once; families combine as independent evidence: score = 1 - Π(1 - w). A single trigger word
 * ("ignore", "pretend", "bypass") is not enough on its own — that is what separates it from a keyword list.
 * All patterns use bounded gaps, so matching is linear in the input.
 */
import { classify, shippedModel, CHUNK_CHARS, type ClassifierModel } from './injection-classifier.js';
import { LiteralMatcher } from './literal-matcher.js';
import { lowerBound, type AnchorHits, type LiteralSource } from './prefilter.js';

export interface InjectionSpan { family: string; start: number; end: number }
export interface InjectionResult { score: number; families: string[]; spans: InjectionSpan[] }

interface Family {
  name: string;
  weight: number;
  res: RegExp[];
  /** weight for 2+ distinct hits */
  multiWeight?: number;
  /**
   * Lower-case literals at least one of which occurs in (or right next to) every match of the family's
   * patterns. A single combined pass finds them; the patterns then run only in windows around them.
   */
  triggers: string[];
}

const I = 'gi';
const OVERRIDE_VERB = '(?:ignore|ignoring|disregard|forget|skip|bypass|override|overlook|neglect|discard|abandon|drop)';
const INSTR_NOUN = '(?:instructions?|tasks|assignments|thoughts|prompts?|prompting|directions?|rules|directives?|guidelines|guidance|context|commands?|programming|constraints|restrictions|polic(?:y|ies)|safeguards|filters|training|orders|inputs?|requests?|messages?|conversation)';
const PRIOR = '(?:previous|prior|above|earlier|preceding|initial|original|all|any|your|these|those|following|system|old|existing|every)';


/**
 * The override and prompt-leak families in de, fr, es, it, pt, nl, pl, hr: an "ignore/forget" verb,
 * a qualifier ("all", "previous", "your", "above") and an instruction noun within a bounded gap — a
 * verb with a noun alone ("Vergiss nicht die Aufgaben") is not enough.
 */
const ML_OVERRIDE_VERBS = ['ignorier', 'vergiss', 'vergessen sie', 'missacht', 'übergeh', 'verwirf', 'oubli', 'ne tiens pas compte', 'ne tenez pas compte', 'ignor', 'olvid', 'no hagas caso', 'descarta', 'dimentic', 'non considerare', 'esqueç', 'esquec', 'desconsider', 'negeer', 'vergeet', 'zignoruj', 'zapomnij', 'pomiń', 'odrzuć', 'zanemari', 'zaboravi', 'odbaci'];
const ML_QUALIFIER = '(?:vorherig|bisherig|obig|vorig|alle|deine|ihre|früher|vorangegangen|ursprünglich|précédent|precedent|toute?s?|tes|vos|ci-dessus|antérieur|initial|anterior|previ[ao]s?|todas?|tus|arriba|precedenti|tutt[ei]|tuoi|tue|sopra|anteriores|suas|tuas|acima|alle|je|eerdere|bovenstaand|poprzedni|wszystk|swoje|wcześniejsz|powyższ|prethodn|sve|svoje|gornj|ranij)';
const ML_NOUN = '(?:anweisung|aufgabe|regeln|befehl|vorgabe|instruktion|anordnung|instructions|consignes|règles|regles|tâches|taches|ordres|instrucciones|tareas|reglas|órdenes|ordenes|indicaciones|istruzioni|compiti|regole|ordini|indicazioni|instruções|instrucoes|tarefas|regras|ordens|instructies|opdrachten|regels|aanwijzingen|instrukcj|polece|zadania|zasady|upute|uputa|naredbe|zadatke|zadatak|pravila)';
const ML_EVERYTHING = '(?:alles,? (?:was|davor|oben|bisherige)|tout ce (?:qui précède|que je)|todo lo (?:anterior|que te)|tutto (?:quello|ciò) che|tudo o que|alles wat|wszystkim,? co|sve što|sve sto)';
const ML_OVERRIDE_RE = new RegExp(`(?<![\\p{L}])(?:${ML_OVERRIDE_VERBS.join('|')})\\p{L}{0,6}(?! nicht\\b)[^.\\n]{0,24}?(?:${ML_QUALIFIER}\\p{L}{0,6}[^.\\n]{0,30}?${ML_NOUN}|${ML_EVERYTHING})`, 'giu');
const ML_LEAK_VERBS = ['zeig', 'gib', 'wiederhol', 'nenn', 'affiche', 'montre', 'répète', 'repete', 'recopie', 'muestra', 'enséñame', 'ensename', 'repite', 'copia', 'mostra', 'ripeti', 'mostre', 'repita', 'copie', 'toon', 'laat', 'herhaal', 'kopieer', 'pokaż', 'pokaz', 'powtórz', 'powtorz', 'skopiuj', 'pokaži', 'pokazi', 'ponovi', 'kopiraj'];
const ML_LEAK_RE = new RegExp(`(?<![\\p{L}])(?:${ML_LEAK_VERBS.join('|')})\\p{L}{0,6}[^.\\n]{0,40}?(?:\\bprompt|systemanweisung|systemprompt|(?:deine|ursprünglich\\w*|versteckt\\w*|tes|vos|initial\\w*|cachées|tus|originales|ocultas|tue|iniziali|nascoste|suas|originais|je|oorspronkelijke|verborgen|swoje|początkowe|ukryte|svoje|početne|skrivene)\\s{1,3}(?:\\p{L}+\\s{1,3})?(?:anweisung|instructions|consignes|instrucciones|istruzioni|instruções|instructies|instrukcj|upute)|(?:text|texte|texto|testo|tekst)\\s{1,3}(?:oben|ci-dessus|de arriba|anterior|qui sopra|sopra|acima|hierboven|powyżej)|(?:gornji|powyższy|bovenstaande)\\s{1,3}(?:tekst|prompt))`, 'giu');

export const FAMILIES: Family[] = [
  { name: 'override', triggers: ['allprevious', 'allprior', 'ignor', 'disregard', 'forget', 'skip', 'bypass', 'overrid', 'overlook', 'neglect', 'discard', 'abandon', 'drop', 'vergiss', 'previous', 'prior', 'above', 'earlier', 'preceding', '忽略', '无视', ...ML_OVERRIDE_VERBS], weight: 0.8, res: [
    ML_OVERRIDE_RE,
    new RegExp(`\\b${OVERRIDE_VERB}\\b[^.\\n]{0,12}?\\b${PRIOR}\\b[^.\\n]{0,30}?\\b${INSTR_NOUN}\\b`, I),
    new RegExp(`\\b${OVERRIDE_VERB}\\b[^.\\n]{0,12}?\\b(?:the|my|your|all|any)?\\s{0,2}${INSTR_NOUN}\\s{0,2}(?:above|before|so far|given)\\b`, I),
    /\b(?:ignore|disregard|forget)\b (?:everything|all of (?:the|that)|the user|what (?:you were|i) (?:told|said)|(?:the |all )?above|what (?:came|was said) before)\b/gi,
    new RegExp(`\\b(?:all\\s{0,3})?(?:previous|prior|above|earlier|preceding)\\s{1,3}${INSTR_NOUN}\\s{1,3}(?:are|is|were|was)\\s{1,3}(?:now\\s{1,3})?(?:false|void|null|wrong|invalid|obsolete|cancel+ed|revoked|irrelevant|fake)`, I),
    /\b(?:ignoriere|vergiss)\b[^.\n]{0,30}\b(?:anweisungen|regeln|befehle)\b|\bignor(?:e[zr]?|a|ar)\b[^.\n]{0,30}\b(?:instructions|instrucciones|consignes|istruzioni)\b|忽略[^。\n]{0,10}(?:指令|指示|说明|规则)|无视[^。\n]{0,10}(?:指令|规则)/gi,
  ] },
  { name: 'new_instructions', triggers: ['from now on', 'henceforth', 'new instruction', 'new task', 'new role', 'new rules', 'new objective', 'instead', 'your new', 'your real', 'your true', 'your actual', 'stop being', 'cease being', 'stop acting', 'cease acting', 'you are now', 'your name is now', 'you will now', 'stop everything', 'updated instruction', 'changed instruction', 'updated rules', 'changed rules', 'updated directive', 'changed directive'], weight: 0.35, res: [
    /\bfrom now on\b|\bhenceforth\b|\bnew (?:instructions?|task|role|rules|objective)\s{0,2}:|\binstead,? (?:you (?:will|must|should)|just|only)\b|\byour (?:new|real|true|actual) (?:task|role|purpose|instructions?|goal|objective)\b|\b(?:stop|cease) (?:being|acting as) an? (?:ai|assistant|language model)\b|\byou are now\b|\byour name is now\b|\byou will now (?:act|be|simulate|respond|pretend|play)\b|\bnew instructions?\b|\bstop everything\b|\b(?:updated|changed) (?:instructions|rules|directives)\b/gi,
  ] },
  { name: 'persona_hijack', triggers: ['you are', 'you\'re', 'you will be', 'you\'ll be', 'act as', 'acting as', 'pretend', 'role-play', 'roleplay', 'play the role', 'simulate', 'behave', 'become', 'transform into'], weight: 0.6, res: [
    /\b(?:you are|you're|you will be|you'll be|act as|acting as|pretend(?:ing)? (?:to be|you are|that you are)|role-?play as|play the role of|simulate|behave (?:as|like)|become|transform into)\b[^.\n]{0,80}?\b(?:DAN|unfiltered|uncensored|unrestricted|unlimited|jailbroken|evil|amoral|immoral|unethical|rogue|no longer (?:an? )?(?:ai|assistant|chatgpt|bound)|without (?:any )?(?:restrictions|limits|limitations|filters|rules|morals|ethics|guidelines)|free from|not bound|developer mode|dev mode|god mode|sudo mode|admin mode)\b/gi,
  ] },
  { name: 'jailbreak_vocabulary', triggers: ['do anything now', 'dan', 'developer mode', 'jailbr', 'evil confidant', 'anti-dan', 'antidan', 'no ethic', 'no moral', 'polic', 'unfiltered', 'uncensored', 'unrestricted', 'in character', 'break character', 'breaking character', 'two different', 'two separate', 'two distinct', 'two responses', 'two personalities', 'two answers', 'two ways', 'classic]', 'normal output', 'mode output', 'safe mode', 'safemode', 'rules don', 'rules do not', 'rules no longer', 'have any ethical', 'have any moral', 'never refuse', 'not bound', 'not restricted', 'not limited', 'can do anything', 'broken free', 'free of', 'ignore all', 'ignore safety', 'ignore ethical', 'ignore moral', 'override', 'mode enabled', 'access granted', 'hypothetical', 'admin command', 'administrator command', 'system command', 'developer command', 'root command', 'sudo command', 'god command', 'without any', 'without censorship', 'without restriction', 'without filter', 'without limitation', 'without moral', 'illegal or', 'illegal and', 'unethical or', 'unethical and', 'harmful or', 'harmful and'], weight: 0.35, multiWeight: 0.7, res: [
    /\bdo anything now\b|\bDAN\b(?! [a-z])|\bdeveloper mode\b|\bjailbr(?:eak|oken)\b|\bevil confidant\b|\banti-?dan\b|\bno (?:ethical|moral|ethic) (?:or moral |or ethical )?(?:guidelines|restrictions|boundaries|principles|constraints|limits|standards)\b|\b(?:openai|anthropic|chatgpt)(?:'s|’s)? (?:content )?polic(?:y|ies)\b|\bcontent polic(?:y|ies)\b|\bwithout (?:any )?(?:censorship|restrictions|filters?|limitations|moral)\b|\b(?:unfiltered|uncensored|unrestricted) (?:response|answer|reply|output|ai|mode|version|assistant|chatbot)\b|\bstay(?:s)? in character\b|\bbreak(?:ing)? character\b|\btwo (?:different |separate |distinct )?(?:responses|personalities|answers|ways)\b|\[(?:🔓|🔒)?\s?(?:jailbreak|classic|normal output|developer mode output)\]|\bsafe ?mode (?:off|disabled)\b|\brules (?:don'?t|do not|no longer) apply\b|\b(?:doesn'?t|does not|don'?t|do not) have any (?:ethical|moral)\b|\bnever refuses?\b|\bnot (?:bound|restricted|limited) by\b|\bcan do anything\b|\bbroken free\b|\bfree of (?:all |any )?(?:restrictions|rules|limitations|censorship)\b|\bignore (?:all )?(?:safety|ethical|moral)\b|\b(?:illegal|unethical|harmful) (?:or|and) (?:unethical|illegal|harmful)\b|\b(?:admin(?:istrator)?|system|developer|root|sudo|god) (?:override|mode enabled|access granted|command)\b|\bhypothetical(?:ly)? (?:response|scenario) (?:where|in which) (?:you|an? ai)\b/gi,
  ] },
  // DAN-style persona scripts: a named persona plus standing rules about how it always/never answers.
  { name: 'persona_rules', weight: 0.2, multiWeight: 0.45, triggers: ['always', 'never', 'will not', "won't", 'must not', 'cannot refuse', "can't refuse"], res: [
    /\b(?:you|it|he|she|they|[A-Z][A-Za-z0-9]{1,20}) (?:will|must|should|shall|can|does|do) (?:always|never|not ever) (?:answer|respond|reply|refuse|say|tell|comply|follow|break|warn|mention|censor|filter|deny|decline|apologi[sz]e|include|add)\b|\b(?:will|must|should|shall) (?:not|never) (?:refuse|decline|censor|filter|warn|apologi[sz]e|remind)\b|\bcan(?:not|'t) refuse\b/g,
  ] },
  { name: 'prompt_extraction', triggers: ['prompt', 'instructions', 'directives', 'guidelines you', 'configuration', 'system message', ...ML_LEAK_VERBS], weight: 0.6, res: [
    ML_LEAK_RE,
    /\b(?:reveal|print|show|repeat|output|display|tell|give|share|leak|spell out|write (?:out|down)|recite|dump|disclose|list|summari[sz]e|translate|encode)\b[^.\n?]{0,30}?\b(?:your|the)\s{1,2}(?:(?:system|initial|original|hidden|secret|previous|first|full|exact|entire|complete)\s{1,2}){0,2}(?:prompt|instructions|directives|guidelines you were given|configuration|system message)\b/gi,
  ] },
  // Mentions alone ("the system prompt workshop") are weak evidence; they count when something else agrees.
  { name: 'prompt_mention', triggers: ['system prompt', 'what were you', 'what are you', 'what was you', 'before this', 'before that', 'before here', 'preceding', 'were you', 'was you', 'you were', 'i was instructed', 'system instructions', 'what are your', 'what were your', 'systemprompt', 'system_prompt', 'and instructions', 'system configuration', 'initial given', 'initially given', 'initial instructions', 'initially instructions', 'initial prompt', 'initially prompt', 'starting instructions', 'starting prompt', 'starting string', 'starting parameters', 'starting configuration', 'starting rules', 'initialization instructions', 'initialization prompt', 'initialization string', 'initialization parameters', 'initialization configuration', 'initialization rules', 'initialisation instructions', 'initialisation prompt', 'initialisation string', 'initialisation parameters', 'initialisation configuration', 'initialisation rules', 'setup instructions', 'setup prompt', 'setup string', 'setup parameters', 'setup configuration', 'setup rules', 'hidden instructions', 'hidden prompt', 'hidden string', 'hidden parameters', 'hidden configuration', 'hidden rules', 'internal instructions', 'internal prompt', 'internal string', 'internal parameters', 'internal configuration', 'internal rules', 'secret instructions', 'secret prompt', 'secret string', 'secret parameters', 'secret configuration', 'secret rules', 'words above', 'text above', 'everything above', 'instructions above', 'content above', 'lines above', 'message above', 'the above', 'all above', 'repeat above', 'output above', 'print above', 'reproduce above', 'copy above', 'return above'], weight: 0.3, res: [
    /\bsystem prompt\b|\b(?:words|text|everything|instructions) (?:above|before) (?:this|that|here)\b|\b(?:were|was) you (?:given|told|instructed|programmed)\b|\byou were (?:given|told|instructed|programmed) (?:to|before|initially|at the start)|\bI was instructed to\b|\binitial(?:ly)? (?:given|instructions|prompt)\b|\bsystem instructions\b|\bwhat (?:are|were) your (?:instructions|rules|directives)\b|\bwhat (?:were|are|was) you (?:told|instructed|given|programmed|not (?:supposed|allowed|permitted) to)\b|\bsystem_?prompt\b|\b(?:repeat|output|print|reproduce|copy|return) (?:the|all|everything)? ?(?:text|words|content|instructions|lines|message)? ?(?:above|before this|preceding)\b|\b(?:starting|initialization|initialisation|setup|hidden|internal|secret) (?:instructions|prompt|string|parameters|configuration|rules)\b|\bsystem(?:'s|’s)? (?:parameters|configuration|settings) and instructions\b|\bdisplay (?:the )?system configuration\b/gi,
  ] },
  { name: 'role_marker', triggers: ['assistant message', 'assistant prompt', 'assistantmessage', 'assistantprompt', '## instruction', '## out of date', '%% instruction', '%% out of date', '** instruction', '** out of date', '== instruction', '== out of date', 'system message', '##instruction', '##out of date', '$ instruction', '$ out of date', '%%instruction', '%%out of date', '**instruction', '**out of date', '==instruction', '==out of date', '[ instruction', '[ out of date', 'assistant   :', 'system prompt', 'systemmessage', '## developer', '## directive', '## important', '$instruction', '$out of date', '%% developer', '%% directive', '%% important', '** developer', '** directive', '** important', '== developer', '== directive', '== important', '[instruction', '[out of date', 'assistant  :', 'systemprompt', '## response', '##developer', '##directive', '##important', '$ developer', '$ directive', '$ important', '%%developer', '%%directive', '%%important', '**developer', '**directive', '**important', '</assistant', '==developer', '==directive', '==important', '[ developer', '[ directive', '[ important', 'assistant :', '## updated', '##response', '$developer', '$directive', '$important', '%% updated', '** updated', '<assistant', '== updated', '[developer', '[directive', '[important', 'assistant:', 'system   :', '## system', '## urgent', '##updated', '$ updated', '%% system', '%% urgent', '%%updated', '** system', '** urgent', '**updated', '== system', '== urgent', '==updated', '[ updated', 'system  :', '## admin', '## begin', '## start', '##system', '##urgent', '$ system', '$ urgent', '$updated', '%% admin', '%% begin', '%% start', '%%system', '%%urgent', '** admin', '** begin', '** start', '**system', '**urgent', '</system', '== admin', '== begin', '== start', '==system', '==urgent', '[ system', '[ urgent', '[updated', 'system :', '##admin', '##begin', '##start', '$ admin', '$ begin', '$ start', '$system', '$urgent', '%%admin', '%%begin', '%%start', '**admin', '**begin', '**start', '<system', '==admin', '==begin', '==start', '[ admin', '[ begin', '[ start', '[system', '[urgent', 'system:', '## end', '## gpt', '## new', '$admin', '$begin', '$start', '%% end', '%% gpt', '%% new', '** end', '** gpt', '** new', '<</sys', '== end', '== gpt', '== new', '[/inst', '[admin', '[begin', '[start', '##end', '##gpt', '##new', '$ end', '$ gpt', '$ new', '%%end', '%%gpt', '%%new', '**end', '**gpt', '**new', '<<sys', '==end', '==gpt', '==new', '[ end', '[ gpt', '[ new', '[inst', '$end', '$gpt', '$new', '[end', '[gpt', '[new', '<|'], weight: 0.5, res: [
    /<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id|begin_of_text)\|>|\[\/?INST\]|<<\/?SYS>>|<\/?(?:system|assistant)>|^\s{0,8}(?:#{1,4}\s{0,3})?(?:system|assistant)\s{0,3}(?:message|prompt)?\s{0,3}:|^\s{0,8}#{2,4} ?(?:new )?(?:instruction|instructions|response)\s{0,3}:?\s*$|(?:#{2,8}|\*{2,8}|%{2,8}|={2,8}|\[|\$) ?(?:begin |start |end |important |urgent )?(?:new |updated |out of date |system |admin |developer )?(?:instructions?|system note|system message|system prompt|directive|system|gpt)\b/gim,
  ] },
  { name: 'addressed_to_model', triggers: ['an ai', 'a ai', 'an llm', 'a llm', 'a large language model', 'a language model', 'an assistant', 'a assistant', 'a chatbot', 'note to', 'summarizing', 'summarising', 'reading this', 'reading the', 'processing this', 'processing the', 'analyzing this', 'analyzing the', 'analysing this', 'analysing the', 'asked about', 'instruction for', 'instruction to', 'instructions for', 'instructions to', 'ai,', 'ai:', 'ai ,', 'ai :', 'ai  ,', 'ai  :', 'assistant,', 'assistant:', 'assistant ,', 'assistant :', 'assistant  ,', 'assistant  :', 'language model,', 'language model:', 'language model ,', 'language model :', 'language model  ,', 'language model  :', 'llm,', 'llm:', 'llm ,', 'llm :', 'llm  ,', 'llm  :', 'chatbot,', 'chatbot:', 'chatbot ,', 'chatbot :', 'chatbot  ,', 'chatbot  :', 'gpt,', 'gpt:', 'gpt ,', 'gpt :', 'gpt  ,', 'gpt  :', 'chatgpt,', 'chatgpt:', 'chatgpt ,', 'chatgpt :', 'chatgpt  ,', 'chatgpt  :', 'model,', 'model:', 'model ,', 'model :', 'model  ,', 'model  :'], weight: 0.45, res: [
    /\b(?:if you are|as) an? (?:ai|llm|large language model|language model|assistant|chatbot|ai assistant)\b(?! (?:researcher|developer|engineer|expert|company|product))|\b(?:ai|assistant|language model|llm|chatbot|gpt|chatgpt|model)\s{0,2}[,:]\s{0,2}(?:please )?(?:ignore|you must|you should|do not|don't|stop|print|say|respond|reply|disregard|forget)\b|\bnote to (?:the |any )?(?:ai|assistant|model|llm|bot)\b|\b(?:when|while|if) (?:you are |you're )?(?:summari[sz]ing|reading|processing|analy[sz]ing|asked about) (?:this|the)\b|\binstructions? (?:for|to) (?:the |any )?(?:ai|assistant|model|llm|bot)\b/gi,
  ] },
  { name: 'output_directive', triggers: ['your reply', 'your response', 'your answer', 'your output', 'your responses', 'your replies', 'the reply', 'the response', 'the answer', 'the output', 'the responses', 'the replies', 'base64', 'rot13', 'hex', 'binary', 'leetspeak', 'morse', 'emoji', 'reverse', 'just say', 'just print', 'just output', 'just respond', 'just reply', 'just write', 'only say', 'only print', 'only output', 'only respond', 'only reply', 'only write', 'exactly', 'verbatim', 'say only', 'print only', 'output only', 'write only', 'begin your', 'start your', 'end your', 'prefix your', 'begin each', 'start each', 'end each', 'prefix each', 'begin every', 'start every', 'end every', 'prefix every', 'each letter', 'each word', 'each character'], weight: 0.35, res: [
    /\b(?:in|to|into|throughout|within) (?:your|the) (?:reply|response|answer|output|responses|replies)\b|\byour (?:reply|response|answer|output) (?:must|should|will|needs to|has to)\b|\b(?:respond|reply|answer|encode (?:your|the) (?:response|reply|answer)|write (?:your|the) (?:response|reply)) (?:only )?(?:in|with|using) (?:base64|rot13|hex|binary|leetspeak|morse|emoji|reverse)\b|\b(?:just|only) (?:say|print|output|respond with|reply with|write)\b|\b(?:say|print|output|write) (?:exactly|verbatim|only)\b|\b(?:begin|start|end|prefix) (?:your|each|every) (?:reply|response|answer|message)\b|\b(?:encode|shift|reverse|translate) each (?:letter|word|character)\b|\b(?:modify|enhance|translate|format|scramble|group|change|alter|end|begin|start|rewrite|structure|encode|make|keep|put|add|include|mention|use|integrate|insert|append|prepend|wrap|limit|craft) (?:your|the) (?:reply|response|answer|output)(?:'s|’s)?\b|\byour (?:reply|response|answer)(?:'s|’s)\b/gi,
  ] },
  { name: 'exfiltration', triggers: ['![', 'conversation', 'chat history', 'password', 'credential', 'api key', 'secret', 'token', 'personal data', 'user data', 'the data', 'this data', 'all data', 'system prompt'], weight: 0.45, res: [
    /!\[[^\]\n]{0,100}\]\(\s{0,3}https?:\/\/[^)\s]{0,200}[?&][a-z_]{1,20}=/gi,
    /\b(?:send|post|forward|upload|exfiltrate|leak|email|transmit)\b[^.\n]{0,40}?\b(?:conversation|chat history|password|credentials?|api key|secrets?|tokens?|personal data|user data|the data|this data|all data|system prompt)\b[^.\n]{0,40}?\b(?:to|at)\b[^.\n]{0,20}?(?:https?:\/\/|[\w.-]+@[\w-]+\.)/gi,
  ] },
];

/**
 * Every trigger in one case-insensitive Aho–Corasick pass; at one position the longest trigger decides
 * (its families include those of its prefixes), as the former longest-first alternation did.
 */
function buildTriggers(): { matcher: LiteralMatcher; families: number[][] } {
  const byTrigger = new Map<string, Set<number>>();
  FAMILIES.forEach((f, i) => {
    for (const t of f.triggers) {
      const k = t.toLowerCase();
      if (!byTrigger.has(k)) byTrigger.set(k, new Set());
      byTrigger.get(k)!.add(i);
    }
  });
  const all = [...byTrigger.keys()];
  const families = all.map((t) => {
    const set = new Set<number>();
    for (const other of all) if (t.startsWith(other)) for (const i of byTrigger.get(other)!) set.add(i);
    return [...set];
  });
  return { matcher: new LiteralMatcher(all), families };
}
const TRIGGERS = buildTriggers();
/** The families' triggers, for the combined prefilter (its hits come back in this numbering). */
export const INJECTION_TRIGGERS: LiteralSource = TRIGGERS.matcher;
/**
 * The multilingual patterns (`u` flag: slow per position — a `\p{L}` lookbehind and a Unicode
 * case-insensitive alternation at every character) begin with one of their verbs, all of which are
 * triggers. In a window they run as sticky patterns at those trigger hits only, in start order —
 * the global scan's matches. The prefilter folds case like a non-Unicode `/i` pattern, which differs
 * from Unicode folding for a few characters (ſ ~ s, K ~ k); a window containing one of those is
 * scanned whole, as before.
 */
interface StartsAt { sticky: RegExp; lits: Uint8Array; odd: RegExp }
const STARTS_AT = new Map<RegExp, StartsAt>();
/** A mask over the trigger literals with `lits` set; each must be a trigger. */
function triggerMask(lits: readonly string[]): Uint8Array {
  const mask = new Uint8Array(TRIGGERS.matcher.literals.length);
  const index = new Map(TRIGGERS.matcher.literals.map((l, i) => [l, i]));
  for (const l of lits) {
    const i = index.get(l.toLowerCase());
    if (i === undefined) throw new Error(`injection detector: ${JSON.stringify(l)} is not a trigger`);
    mask[i] = 1;
  }
  return mask;
}

function startsAt(re: RegExp, verbs: readonly string[]): void {
  const lits = triggerMask(verbs);
  // Characters that Unicode case folding matches to a verb letter but a non-Unicode /i pattern does not.
  const letters = [...new Set(verbs.join('').replace(/[^\p{L}]/gu, ''))].join('');
  const u = new RegExp(`[${letters}]`, 'iu');
  const plain = new RegExp(`[${letters}]`, 'i');
  let odd = '';
  for (let c = 128; c < 0xd800; c++) {
    const ch = String.fromCharCode(c);
    if (u.test(ch) && !plain.test(ch)) odd += ch;
  }
  for (let c = 0xe000; c < 0x10000; c++) {
    const ch = String.fromCharCode(c);
    if (u.test(ch) && !plain.test(ch)) odd += ch;
  }
  STARTS_AT.set(re, { sticky: new RegExp(re.source, re.flags.replace('g', '') + 'y'), lits, odd: odd ? new RegExp(`[${odd}]`) : /(?!)/ });
}
startsAt(ML_OVERRIDE_RE, ML_OVERRIDE_VERBS);
startsAt(ML_LEAK_RE, ML_LEAK_VERBS);

/**
 * Patterns of a family with several patterns whose every match contains one of a few of the family's
 * triggers (a verb, a qualifier): a window holding none of those runs the other patterns only. The
 * override family's windows are mostly opened by common words ("previous", "above", "skip"), so
 * most of its patterns can never match in them.
 */
const NEEDS = new Map<RegExp, Uint8Array>();
function needs(re: RegExp, lits: readonly string[]): void {
  NEEDS.set(re, triggerMask(lits));
}
function pattern(family: string, i: number): RegExp {
  const re = FAMILIES.find((f) => f.name === family)?.res[i];
  if (!re) throw new Error(`injection detector: no pattern ${family}#${i}`);
  return re;
}
const OVERRIDE_VERB_TRIGGERS = ['ignor', 'disregard', 'forget', 'skip', 'bypass', 'overrid', 'overlook', 'neglect', 'discard', 'abandon', 'drop'];
/** Each pattern with the triggers one of which lies inside each of its matches (checked in test/safety/injection-gates.test.ts). */
export const PATTERN_NEEDS: ReadonlyArray<readonly [RegExp, readonly string[]]> = [
  [pattern('override', 1), OVERRIDE_VERB_TRIGGERS],
  [pattern('override', 2), OVERRIDE_VERB_TRIGGERS],
  [pattern('override', 3), ['ignor', 'disregard', 'forget']],
  [pattern('override', 4), ['previous', 'prior', 'above', 'earlier', 'preceding']],
  [pattern('override', 5), ['ignor', 'vergiss', '忽略', '无视']],
  [pattern('prompt_extraction', 1), ['prompt', 'instructions', 'directives', 'guidelines you', 'configuration', 'system message']],
  [pattern('exfiltration', 0), ['![']],
];
for (const [re, lits] of PATTERN_NEEDS) needs(re, lits);

/** Whether a hit of a literal in `mask` lies wholly inside win = [ws, we). */
function hitInside(found: AnchorHits, mask: Uint8Array, ws: number, we: number): boolean {
  const lo = lowerBound(found, ws);
  const lits = TRIGGERS.matcher.literals;
  for (let i = lo; i < found.count && found.starts[i] < we; i++) {
    if (mask[found.lits[i]] === 1 && found.starts[i] + lits[found.lits[i]].length <= we) return true;
  }
  return false;
}

/** The matches `re` would find in win (= text[ws, we)), tried only at its verbs' trigger hits. */
function matchAtStarts(at: StartsAt, win: string, ws: number, we: number, found: AnchorHits, record: (m: RegExpExecArray, ws: number) => void): void {
  const lo = lowerBound(found, ws);
  let pos = 0;
  let tried = -1;
  for (let i = lo; i < found.count && found.starts[i] < we; i++) {
    if (at.lits[found.lits[i]] === 0) continue;
    const c = found.starts[i] - ws;
    if (c < pos || c === tried) continue;
    tried = c;
    at.sticky.lastIndex = c;
    const m = at.sticky.exec(win);
    if (!m || m[0].length === 0) continue;
    record(m, ws);
    pos = c + m[0].length;
  }
}
const EXTRACTION_VERB_RE = /\b(?:output|repeat|print|show|reveal|display|tell|give|see|encode|decode|complete|continue|relay|recite|dump|leak|disclose|share|copy|paste|write out|console\.log|echo|translate)\b/i;
function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}
/** Context kept around a trigger: wide enough for the longest pattern (bounded gaps of at most 80 chars). */
const BEFORE = 240;
const AFTER = 300;

type FamilyHits = Map<string, { distinct: Set<string>; spans: InjectionSpan[] }>;

/** The layer's default `injection.threshold`; the classifier's own threshold is mapped onto it. */
export const DEFAULT_THRESHOLD = 0.35;
/** Texts up to this long are classified whole (in chunks); longer ones only where it matters. */
const CLASSIFY_WHOLE_CHARS = 16_384;
/** Chunks classified around pattern hits in a longer text. */
const CLASSIFY_MAX_CHUNKS = 8;

export class InjectionDetector {
  /** Raw pattern hits per family (only families with at least one hit), found in windows around triggers. */
  matchFamilies(text: string, triggers?: AnchorHits): Map<string, { distinct: Set<string>; spans: InjectionSpan[] }> {
    // The whole text, however long: the trigger pass is linear and the patterns run only near triggers.
    const windows: Array<Array<[number, number]>> = FAMILIES.map(() => []);
    const found = triggers ?? TRIGGERS.matcher.findAll(text);
    this.collectWindows(text, 0, windows, found);
    const out = new Map<string, { distinct: Set<string>; spans: InjectionSpan[] }>();
    FAMILIES.forEach((fam, fi) => {
      const record = (m: RegExpExecArray, ws: number) => {
        let e = out.get(fam.name);
        if (!e) out.set(fam.name, (e = { distinct: new Set(), spans: [] }));
        e.distinct.add(m[0].toLowerCase());
        if (e.spans.length < 50) e.spans.push({ family: fam.name, start: ws + m.index, end: ws + m.index + m[0].length });
      };
      for (const [ws, we] of windows[fi]) {
        const win = text.slice(ws, we);
        for (const re of fam.res) {
          const need = NEEDS.get(re);
          if (need && !hitInside(found, need, ws, we)) continue;
          const at = STARTS_AT.get(re);
          if (at && !at.odd.test(win)) {
            matchAtStarts(at, win, ws, we, found, record);
            continue;
          }
          re.lastIndex = 0;
          let m: RegExpExecArray | null;
          while ((m = re.exec(win)) !== null) {
            if (m[0].length === 0) {
              re.lastIndex++;
              continue;
            }
            record(m, ws);
          }
        }
      }
    });
    return out;
  }

  private readonly model: ClassifierModel | null;

  /** `classifier: null` scores with the pattern families alone (the evaluation's rules-only figure). */
  constructor(opts: { classifier?: ClassifierModel | null } = {}) {
    this.model = opts.classifier === undefined ? shippedModel() : opts.classifier;
  }

  /**
   * Combined score: the pattern families' score and the classifier's, mapped so that the model's own
   * threshold lands on DEFAULT_THRESHOLD — the higher of the two decides. A classifier-only decision
   * shows as family `classifier` with the span of the chunk it came from.
   */
  detect(text: string, triggers?: AnchorHits): InjectionResult {
    return this.fromHits(text, this.matchFamilies(text, triggers));
  }

  /**
   * The same over a long text in steps: the families are matched in windows of `window` characters
   * (with an overlap wider than any pattern), yielding between windows so the caller's thread stays
   * responsive; the result equals detect(text).
   */
  *detectSteps(text: string, window = 1_000_000, triggersIn?: (from: number, to: number) => AnchorHits): Generator<void, InjectionResult> {
    if (text.length <= window) return this.detect(text, triggersIn?.(0, text.length));
    const hits: FamilyHits = new Map();
    const overlap = BEFORE + AFTER + 512;
    for (let off = 0; off < text.length; off += window) {
      // Context before the window too: whether a trigger starts a word depends on the character before it.
      const from = Math.max(0, off - overlap);
      const end = Math.min(text.length, off + window + overlap);
      for (const [name, h] of this.matchFamilies(text.slice(from, end), triggersIn?.(from, end))) {
        const own = h.spans.filter((sp) => from + sp.start >= off && (from + sp.start < off + window || end === text.length));
        if (own.length === 0) continue;
        let e = hits.get(name);
        if (!e) hits.set(name, (e = { distinct: new Set(), spans: [] }));
        for (const sp of own) {
          e.distinct.add(text.slice(from + sp.start, from + sp.end).toLowerCase());
          if (e.spans.length < 50) e.spans.push({ family: name, start: from + sp.start, end: from + sp.end });
        }
      }
      yield;
    }
    return this.fromHits(text, hits);
  }

  private fromHits(text: string, hits: FamilyHits): InjectionResult {
    const rules = this.scoreHits(text, hits);
    if (!this.model) return rules;
    const c = this.classifyWhere(text, rules.spans);
    const t = this.model.threshold ?? 0.5;
    const mapped = Math.round((c.p >= t ? DEFAULT_THRESHOLD + ((1 - DEFAULT_THRESHOLD) * (c.p - t)) / (1 - t) : (DEFAULT_THRESHOLD * c.p) / t) * 1000) / 1000;
    if (mapped <= rules.score) return rules;
    const spans = rules.spans.length ? rules.spans : [{ family: 'classifier', start: c.start, end: c.end }];
    return { score: mapped, families: [...rules.families, ...(mapped >= DEFAULT_THRESHOLD ? ['classifier'] : [])], spans };
  }

  /** Whole text when it is short; else its head, its tail and the chunks around pattern hits (bounded work). */
  private classifyWhere(text: string, spans: InjectionSpan[]): { p: number; start: number; end: number } {
    const m = this.model!;
    if (text.length <= CLASSIFY_WHOLE_CHARS) return classify(m, text);
    const at = [0, text.length - CHUNK_CHARS, ...spans.slice(0, CLASSIFY_MAX_CHUNKS).map((sp) => sp.start - CHUNK_CHARS / 2)];
    let best = { p: 0, start: 0, end: 0 };
    for (const a of at) {
      const start = Math.max(0, Math.min(a, text.length - CHUNK_CHARS));
      const r = classify(m, text.slice(start, start + CHUNK_CHARS));
      if (r.p > best.p) best = { p: r.p, start, end: start + CHUNK_CHARS };
    }
    return best;
  }

  /** The pattern families alone. */
  detectRules(text: string): InjectionResult {
    return this.scoreHits(text, this.matchFamilies(text));
  }

  private scoreHits(text: string, hits: FamilyHits): InjectionResult {
    const spans: InjectionSpan[] = [];
    const families: string[] = [];
    let keep = 1;
    for (const fam of FAMILIES) {
      const h = hits.get(fam.name);
      if (!h) continue;
      families.push(fam.name);
      spans.push(...h.spans);
      keep *= 1 - (h.distinct.size >= 2 && fam.multiWeight ? fam.multiWeight : fam.weight);
    }
    // A prompt mention next to a request verb ("output the text above", "show the system prompt") is extraction.
    if (!families.includes('prompt_extraction') && families.includes('prompt_mention')) {
      const ext = FAMILIES.find((f) => f.name === 'prompt_extraction')!;
      const near = hits.get('prompt_mention')!.spans.some((sp) => EXTRACTION_VERB_RE.test(text.slice(Math.max(0, sp.start - 80), Math.min(text.length, sp.end + 80))));
      if (near) {
        families.push('prompt_extraction');
        keep *= 1 - ext.weight;
      }
    }
    const score = Math.round((1 - keep) * 1000) / 1000;
    spans.sort((a, b) => a.start - b.start || b.end - a.end);
    // Several patterns often cover the same words: keep non-overlapping spans.
    const merged: InjectionSpan[] = [];
    for (const sp of spans) {
      const last = merged[merged.length - 1];
      if (last && sp.start < last.end) continue;
      if (merged.length >= 200) break;
      merged.push(sp);
    }
    return { score, families, spans: merged };
  }

  /** One pass of the trigger regex; per family, merged windows [trigger - BEFORE, trigger + AFTER) starting at a line start when one is near. */
  private collectWindows(seg: string, off: number, windows: Array<Array<[number, number]>>, found: AnchorHits): void {
    let prev = -1;
    for (let i = 0; i < found.count; i++) {
      const at = found.starts[i];
      // Hits at one position come longest first: the longest trigger there decides.
      if (at === prev) continue;
      prev = at;
      const li = found.lits[i];
      const trig = TRIGGERS.matcher.literals[li];
      const fams = TRIGGERS.families[li];
      // Triggers are word starts ("ignor" in "ignored", not "said" for "ai"); short ones whole words.
      if (at > 0 && isWordChar(seg.charCodeAt(at - 1)) && isWordChar(seg.charCodeAt(at))) continue;
      if (trig.length <= 3 && isWordChar(trig.charCodeAt(trig.length - 1)) && isWordChar(seg.charCodeAt(at + trig.length))) continue;
      let start = Math.max(0, at - BEFORE);
      if (start > 0) {
        // Look back at most BEFORE characters for a line start: an unbounded lastIndexOf on a text
        // without newlines made every trigger cost O(n), the whole scan O(n²).
        const floor = Math.max(0, start - BEFORE);
        let nl = start;
        while (nl > floor && seg.charCodeAt(nl) !== 10) nl--;
        if (seg.charCodeAt(nl) === 10) start = nl + 1;
      }
      const end = Math.min(seg.length, at + trig.length + AFTER);
      for (const fi of fams) {
        const list = windows[fi];
        const last = list[list.length - 1];
        if (last && last[1] >= off + start) last[1] = Math.max(last[1], off + end);
        else list.push([off + start, off + end]);
      }
    }
  }
}

/** The plain keyword list an injection filter usually starts from; used as the evaluation baseline. */
export const BASELINE_KEYWORDS = ['ignore', 'disregard', 'forget', 'bypass', 'override', 'jailbreak', 'pretend', 'dan', 'system prompt', 'developer mode', 'unfiltered', 'uncensored', 'no restrictions', 'do anything now'];
export function keywordBaseline(text: string): boolean {
  const t = text.toLowerCase();
  return BASELINE_KEYWORDS.some((k) => new RegExp(`\\b${k}\\b`).test(t));
}
