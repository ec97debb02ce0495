/** Packing and unpacking of frames (see PackedFrame in protocol/wire.ts). */
import { Kind, type WireItem, type WireMessage } from '../../protocol/wire.js';

const REPLY_ERROR = 4;

/** Strings a link has already carried, numbered in the order they were first sent. */
export class StringTable {
  private readonly index = new Map<string, number>();
  private readonly list: string[] = [];

  /** Encoder side: the string itself the first time, its number afterwards. */
  ref(s: string): string | number {
    const i = this.index.get(s);
    if (i !== undefined) return i;
    this.index.set(s, this.list.length);
    this.list.push(s);
    return s;
  }

  /** Decoder side: the mirror of `ref`. */
  read(v: unknown): string {
    if (typeof v === 'number') return this.list[v];
    this.list.push(v as string);
    return v as string;
  }

  get size(): number {
    return this.list.length;
  }

  /** Forget strings registered after `size` (their frame was never sent). */
  rollback(size: number): void {
    while (this.list.length > size) this.index.delete(this.list.pop()!);
  }
}

export function pack(items: WireItem[], t: StringTable): unknown[] {
  const out: unknown[] = [];
  for (const it of items) {
    switch (it.k) {
      case Kind.Tell:
        out.push(0, it.s, t.ref(it.to), t.ref(it.from), t.ref(it.ty), it.p);
        break;
      case Kind.Ask:
        out.push(1, it.s, it.id, t.ref(it.to), t.ref(it.from), t.ref(it.ty), it.p, it.dl ?? 0);
        break;
      case Kind.Reply:
        if (it.e) out.push(REPLY_ERROR, it.id, it.e);
        else out.push(2, it.id, it.p);
        break;
      case Kind.Publish:
        out.push(3, t.ref(it.tp), it.p);
        break;
    }
  }
  return out;
}

export function unpack(m: unknown[], t: StringTable): WireItem[] {
  const items: WireItem[] = [];
  let i = 0;
  while (i < m.length) {
    const k = m[i] as number;
    switch (k) {
      case 0:
        items.push({ k: Kind.Tell, s: m[i + 1] as number, to: t.read(m[i + 2]), from: t.read(m[i + 3]), ty: t.read(m[i + 4]), p: m[i + 5] } as WireMessage);
        i += 6;
        break;
      case 1:
        items.push({ k: Kind.Ask, s: m[i + 1] as number, id: m[i + 2] as number, to: t.read(m[i + 3]), from: t.read(m[i + 4]), ty: t.read(m[i + 5]), p: m[i + 6], dl: m[i + 7] as number });
        i += 8;
        break;
      case 2:
        items.push({ k: Kind.Reply, id: m[i + 1] as number, p: m[i + 2] });
        i += 3;
        break;
      case REPLY_ERROR:
        items.push({ k: Kind.Reply, id: m[i + 1] as number, e: m[i + 2] as { code: string; message: string } });
        i += 3;
        break;
      case 3:
        items.push({ k: Kind.Publish, tp: t.read(m[i + 1]), p: m[i + 2] });
        i += 3;
        break;
      default:
        throw new Error(`corrupt frame: unknown item kind ${k} at ${i}`);
    }
  }
  return items;
}
