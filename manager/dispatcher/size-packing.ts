/** One list item to place in a message: its bytes on the wire, how to add it, and what to call it in a log (built only then). */
export interface Piece<P> {
  bytes: number;
  add(part: P): void;
  describe(): string;
}

export interface PackLimits {
  /** A part holds more than one item only while it stays within this many bytes. */
  budgetBytes: number;
  /** An item that does not fit in a message of this size even alone is dropped. */
  maxMessageBytes: number;
  /** At most this many items per part, whatever their size. */
  maxItems?: number;
}

export interface Packed<P> {
  /** At least one part, even for no items: the receiver needs a message to act on. */
  parts: P[];
  /** Items too large for any message, in the order met. */
  dropped: string[];
}

/**
 * Fills parts in order with `pieces`, starting a new part whenever the next item
 * would take the current one past the budget (or the item count). `headerBytes` is
 * what every part costs before its first item: its own fields and the envelope
 * around it. An item over the budget goes alone in a part; one over the message
 * limit is dropped, since sending it would only end the receiver's stream.
 */
export function packBySize<P>(pieces: Iterable<Piece<P>>, emptyPart: () => P, headerBytes: number, limits: PackLimits): Packed<P> {
  const parts: P[] = [];
  const dropped: string[] = [];
  let part = emptyPart();
  let bytes = headerBytes;
  let items = 0;
  for (const piece of pieces) {
    if (headerBytes + piece.bytes > limits.maxMessageBytes) {
      dropped.push(piece.describe());
      continue;
    }
    const full = bytes + piece.bytes > limits.budgetBytes || items === limits.maxItems;
    if (items > 0 && full) {
      parts.push(part);
      part = emptyPart();
      bytes = headerBytes;
      items = 0;
    }
    piece.add(part);
    bytes += piece.bytes;
    items += 1;
  }
  parts.push(part);
  return { parts, dropped };
}
