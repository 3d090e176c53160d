/** One page of a paginated list call, as its items and the token for the next. */
export interface FetchedPage<T> {
  items: T[];
  nextPageToken: string;
}

/**
 * Every item of a paginated list, page after page until the server gives no next
 * token. The token is the server's and passed back unchanged.
 */
export async function allPages<T>(fetchPage: (pageToken: string) => Promise<FetchedPage<T>>): Promise<T[]> {
  const items: T[] = [];
  let token = '';
  do {
    const page = await fetchPage(token);
    if (page.nextPageToken !== '' && page.nextPageToken === token) throw new Error(`the server returned page token "${token}" again; it would never end`);
    items.push(...page.items);
    token = page.nextPageToken;
  } while (token !== '');
  return items;
}
