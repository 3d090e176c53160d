import { deleteScript, isMissingTableError, listTableArgv, normalizeListing } from '.';

describe('normalizeListing', () => {
  test('re-indents with tabs, collapses spaces and drops blank lines', () => {
    const listing = 'table ip t {\n\tchain a {\n\t\ttype filter hook forward priority filter;  policy accept;\n\t}\n\n    chain b {\n  }\n}\n';
    expect(normalizeListing(listing)).toBe('table ip t {\n\tchain a {\n\t\ttype filter hook forward priority filter; policy accept;\n\t}\n\tchain b {\n\t}\n}\n');
  });

  test('ignores the rule handles that `nft -a` adds', () => {
    const plain = 'table ip t {\n\tchain a {\n\t\toifname "x" drop\n\t}\n}\n';
    const withHandles = 'table ip t { # handle 5\n\tchain a { # handle 1\n\t\toifname "x" drop # handle 2\n\t}\n}\n';
    expect(normalizeListing(withHandles)).toBe(normalizeListing(plain));
  });

  test('is idempotent', () => {
    const once = normalizeListing('table ip t {\n  chain a {\n  }\n}');
    expect(normalizeListing(once)).toBe(once);
  });
});

describe('reading and deleting the table', () => {
  test('lists one table of family ip', () => {
    expect(listTableArgv('trellis')).toEqual(['nft', 'list', 'table', 'ip', 'trellis']);
  });

  test('tells a missing table from other failures', () => {
    expect(isMissingTableError('Error: No such file or directory\nlist table ip trellis\n              ^^^^^^^\n')).toBe(true);
    expect(isMissingTableError('Cannot open network namespace "x": No such file or directory\n')).toBe(false);
    expect(isMissingTableError('Error: syntax error, unexpected string\nlist table ip bad name\n')).toBe(false);
    expect(isMissingTableError('Error: Operation not permitted\n')).toBe(false);
  });

  test('deletes idempotently: declaring the table first makes the delete valid when it is absent', () => {
    expect(deleteScript('trellis')).toBe('table ip trellis\ndelete table ip trellis\n');
  });
});
