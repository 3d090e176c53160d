import type { ServiceError } from '@grpc/grpc-js';
import { maxMessageBytes } from '../../proto/runtime/message-limits';
import { delimitedFieldBytes, type Encoder } from '../../proto/runtime/wire-size';
import { serviceError } from './status';

/** Objects per page: the default when a request gives no page_size, and the most it may ask for. */
export const maxPageSize = 500;
/** A page ends early once its objects hold this many bytes, whatever page_size says. */
export const pageBudgetBytes = 1024 * 1024;

/** The pagination fields every List request has. */
export interface PageRequest {
  pageSize: number;
  pageToken: string;
}

/** Where a page starts (after the object named `after`; '' = the first) and how many objects it may hold. */
export interface PageQuery {
  after: string;
  limit: number;
}

export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/** Room in a reply for the next_page_token field and the list field's tag and length around the objects. */
const replyOverheadBytes = 1024;

/*
 * A token is the name of the last object of its page, base64url-encoded behind a
 * version prefix: opaque to clients, and stable whatever is created or removed
 * between pages (the next page starts after that name, in name order).
 */
const tokenPrefix = 'v1:';

export function pageToken(lastName: string): string {
  return Buffer.from(tokenPrefix + lastName, 'utf8').toString('base64url');
}

function nameInToken(token: string): string | undefined {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  if (!text.startsWith(tokenPrefix) || text.length === tokenPrefix.length || pageToken(text.slice(tokenPrefix.length)) !== token) return undefined;
  return text.slice(tokenPrefix.length);
}

export function pageQuery(request: PageRequest): PageQuery | ServiceError {
  if (request.pageSize > maxPageSize) {
    return serviceError(
      'INVALID_ARGUMENT',
      'page_size',
      `page_size: ${request.pageSize} is more than a page holds; give 1 to ${maxPageSize}, or 0 for the default (${maxPageSize})`,
    );
  }
  const limit = request.pageSize === 0 ? maxPageSize : request.pageSize;
  if (request.pageToken === '') return { after: '', limit };
  const after = nameInToken(request.pageToken);
  if (after === undefined) {
    const shown = request.pageToken.length > 64 ? `${request.pageToken.slice(0, 64)}…` : request.pageToken;
    return serviceError(
      'INVALID_ARGUMENT',
      'page_token',
      `page_token: "${shown}" is not a token this API gave; pass the previous page's next_page_token unchanged, or '' to start from the first page`,
    );
  }
  return { after, limit };
}

/**
 * The page of `items` (in name order, starting after `query.after`) that holds at most
 * `query.limit` objects and, unless it holds just one, at most `pageBudgetBytes`. Items
 * are built only as they are reached. An object too large for any reply is refused
 * with its name rather than sent to fail at the client.
 */
export function takePage<T extends { name: string }>(items: Iterable<T>, query: PageQuery, codec: Encoder<T>, kind: string): Page<T> | ServiceError {
  const page: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const last = page[page.length - 1];
    if (last && page.length === query.limit) return { items: page, nextPageToken: pageToken(last.name) };
    const size = delimitedFieldBytes(codec.encode(item).finish().length);
    if (last && bytes + size > pageBudgetBytes) return { items: page, nextPageToken: pageToken(last.name) };
    if (size > maxMessageBytes - replyOverheadBytes) {
      return serviceError(
        'RESOURCE_EXHAUSTED',
        '',
        `${kind} "${item.name}" takes ${size} bytes to send, more than a reply may hold (${maxMessageBytes}); the list cannot go past it until it is smaller`,
      );
    }
    page.push(item);
    bytes += size;
  }
  return { items: page, nextPageToken: '' };
}
