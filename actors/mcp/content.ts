/**
 * MCP content blocks → the text a model reads. Text blocks are kept as they are; images, audio
 * and binary resources are summarised (type, size) rather than inlined as base64 noise.
 */
export interface ContentBlock {
  type: string;
  text?: string;
  data?: string;
  mimeType?: string;
  uri?: string;
  name?: string;
  resource?: { uri?: string; mimeType?: string; text?: string; blob?: string };
}

function b64Bytes(s: string | undefined): number {
  return s ? Math.floor((s.length * 3) / 4) : 0;
}

export function blockText(b: ContentBlock): string {
  switch (b.type) {
    case 'text':
      return b.text ?? '';
    case 'image':
    case 'audio':
      return `[${b.type} ${b.mimeType ?? ''} ${b64Bytes(b.data)} bytes]`;
    case 'resource': {
      const r = b.resource ?? {};
      if (typeof r.text === 'string') return `[resource ${r.uri ?? ''}]\n${r.text}`;
      return `[resource ${r.uri ?? ''} ${r.mimeType ?? ''} ${b64Bytes(r.blob)} bytes]`;
    }
    case 'resource_link':
      return `[resource link ${b.name ?? ''} ${b.uri ?? ''}]`;
    default:
      return `[${String(b.type)} content]`;
  }
}

export function contentText(blocks: unknown): string {
  if (!Array.isArray(blocks)) return '';
  return blocks.map((b) => blockText(b as ContentBlock)).join('\n');
}
