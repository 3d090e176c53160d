import { ManagerRotation } from './manager-rotation';

describe('ManagerRotation', () => {
  it('goes round the configured managers', () => {
    const rotation = new ManagerRotation(['a:1', 'b:1', 'c:1']);
    expect([rotation.current(), rotation.advance(undefined), rotation.advance(undefined), rotation.advance(undefined)]).toEqual([
      'a:1',
      'b:1',
      'c:1',
      'a:1',
    ]);
  });

  it('goes straight to a leader a follower named, even one it was not told about', () => {
    const rotation = new ManagerRotation(['a:1']);
    expect(rotation.advance('d:1')).toBe('d:1');
    expect(rotation.advance(undefined)).toBe('a:1');
    expect(rotation.advance(undefined)).toBe('d:1');
  });

  it('refuses an empty list', () => {
    expect(() => new ManagerRotation([])).toThrow('at least one manager');
  });
});
