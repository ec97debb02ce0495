/**
 * Topic patterns: an exact topic (`agents/default/events`), or a prefix ending in `*`
 * (`agents/*` matches every topic starting with `agents/`). `*` alone matches everything.
 */
export function topicMatches(pattern: string, topic: string): boolean {
  if (pattern.endsWith('*')) return topic.startsWith(pattern.slice(0, -1));
  return pattern === topic;
}
