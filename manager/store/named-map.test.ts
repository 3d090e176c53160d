import { NamedMap } from './watched-map';

describe('NamedMap', () => {
  it('finds records by name through adds, replacements and removals', () => {
    const records = new NamedMap<{ id: string; name: string; value: number }>();
    records.set('1', { id: '1', name: 'blue', value: 1 });
    records.set('2', { id: '2', name: 'red', value: 2 });
    records.set('1', { id: '1', name: 'blue', value: 3 });
    expect(records.byName('blue')?.value).toBe(3);

    records.delete('1');
    expect(records.byName('blue')).toBeUndefined();
    expect(records.byName('red')?.id).toBe('2');

    records.set('3', { id: '3', name: 'blue', value: 4 });
    expect(records.byName('blue')?.id).toBe('3');
  });
});
