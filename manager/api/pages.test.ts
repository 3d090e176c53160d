import { status, type ServiceError } from '@grpc/grpc-js';
import { maxMessageBytes } from '../../proto/runtime/message-limits';
import { maxPageSize, pageBudgetBytes, pageQuery, pageToken, takePage, type Page, type PageQuery } from './pages';

/** Objects whose wire size is their `bytes` (a string field of that length, give or take its tag and length). */
interface Item {
  name: string;
  bytes: number;
}
const codec = { encode: (item: Item) => ({ finish: () => new Uint8Array(item.bytes) }) };
const items = (count: number, bytes = 100): Item[] => Array.from({ length: count }, (_, i) => ({ name: `item-${String(i).padStart(4, '0')}`, bytes }));
const take = (list: Item[], query: PageQuery): Page<Item> => {
  const page = takePage(list.filter((item) => item.name > query.after), query, codec, 'item');
  if (page instanceof Error) throw page;
  return page;
};
const asQuery = (outcome: PageQuery | ServiceError): PageQuery => {
  if (outcome instanceof Error) throw outcome;
  return outcome;
};

describe('list pages', () => {
  it('walks a list in pages of page_size, each token leading to the next name', () => {
    const list = items(7);
    const names: string[][] = [];
    let token = '';
    do {
      const page = take(list, asQuery(pageQuery({ pageSize: 3, pageToken: token })));
      names.push(page.items.map((item) => item.name));
      token = page.nextPageToken;
    } while (token !== '');
    expect(names).toEqual([
      ['item-0000', 'item-0001', 'item-0002'],
      ['item-0003', 'item-0004', 'item-0005'],
      ['item-0006'],
    ]);
  });

  it('ends a page early at about 1 MiB, but never leaves a page empty', () => {
    const quarter = Math.floor(pageBudgetBytes / 4);
    expect(take(items(10, quarter), { after: '', limit: maxPageSize }).items).toHaveLength(3);
    expect(take(items(3, pageBudgetBytes * 2), { after: '', limit: maxPageSize }).items).toHaveLength(1);
  });

  it('refuses, naming it, an object too large for any reply', () => {
    const outcome = takePage(items(2, maxMessageBytes), { after: '', limit: maxPageSize }, codec, 'network');
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as ServiceError).code).toBe(status.RESOURCE_EXHAUSTED);
    expect((outcome as ServiceError).details).toMatch(/^network "item-0000" takes \d+ bytes to send, more than a reply may hold/);
  });

  it.each([
    [{ pageSize: maxPageSize + 1, pageToken: '' }, 'page_size'],
    [{ pageSize: 0, pageToken: 'garbage!' }, 'page_token'],
    [{ pageSize: 0, pageToken: Buffer.from('item-0001').toString('base64url') }, 'page_token'],
    [{ pageSize: 0, pageToken: `${pageToken('item-0001')}=` }, 'page_token'],
    [{ pageSize: 0, pageToken: pageToken('') }, 'page_token'],
  ])('refuses %j with INVALID_ARGUMENT naming %s', (request, field) => {
    const outcome = pageQuery(request);
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as ServiceError).code).toBe(status.INVALID_ARGUMENT);
    expect((outcome as ServiceError).metadata.get('trellis-field')).toEqual([field]);
    expect((outcome as ServiceError).details).toMatch(new RegExp(`^${field}: `));
  });

  it('takes page_size 0 as the default, the most a page holds', () => {
    expect(pageQuery({ pageSize: 0, pageToken: '' })).toEqual({ after: '', limit: maxPageSize });
    expect(pageQuery({ pageSize: 1, pageToken: pageToken('web') })).toEqual({ after: 'web', limit: 1 });
  });
});
