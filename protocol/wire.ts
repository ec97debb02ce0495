/**
 * In-process wire format: the compact frames posted between threads. Kept free of imports so that
 * every worker thread loads it at no cost (the external envelope's schemas live in envelope.ts).
 */

/** Message kinds inside an in-process frame. */
export const enum Kind {
  Tell = 0,
  Ask = 1,
  Reply = 2,
  Publish = 3,
}

/** A tell or ask travelling between threads. `s` is the per-link sequence number (credits, redelivery). */
export interface WireMessage {
  k: Kind.Tell | Kind.Ask;
  s: number;
  /** Ask id, unique per sending thread (absent for tells). */
  id?: number;
  to: string;
  from: string;
  ty: string;
  p: unknown;
  /**
   * Asks only: the caller's deadline (`Date.now()` clock, shared by every thread of the process).
   * The target does not start an ask whose caller has already given up on it (at-most-once).
   */
  dl?: number;
}

export interface WireReply {
  k: Kind.Reply;
  id: number;
  /** Error, when the ask failed: `{code, message, details?}`. */
  e?: { code: string; message: string; details?: unknown };
  p?: unknown;
}

export interface WirePublish {
  k: Kind.Publish;
  tp: string;
  p: unknown;
}

export type WireItem = WireMessage | WireReply | WirePublish;

/**
 * What one postMessage carries: a batch of items plus a cumulative acknowledgement
 * (the highest sequence number of the peer's messages that this side has started to process).
 */
export interface Frame {
  a?: number;
  m?: WireItem[];
}


/**
 * What actually crosses the port: items flattened into one array, and the strings that repeat in
 * every message (paths, types, topics) sent once per link and then referred to by number. Structured
 * clone of a flat array of numbers is several times cheaper than of small objects with strings.
 *
 *   tell    0, seq, to, from, type, payload
 *   ask     1, seq, id, to, from, type, payload, deadline
 *   reply   2, id, payload          (error: 4, id, {code, message, details})
 *   publish 3, topic, payload
 *
 * `to`, `from`, `type` and `topic` are a string the first time a link carries them, then its index.
 */
export interface PackedFrame {
  a?: number;
  m?: unknown[];
}
