import { onlyAlreadyGone, parseBatchFailures } from './batch-failures';

/** stderr of `ip -force -batch -` as iproute2 6.1 writes it. */
const LINK_GONE = 'Cannot find device "trve-e1aaaaaaaa"\nCommand failed -:2\n';
/** Linux 6.18's words for an address that is not there. */
const ADDRESS_GONE = 'Error: ipv4: Address not found.\nCommand failed -:1\n';
const NETNS_GONE = 'Cannot remove namespace file "/run/netns/trsb-web": No such file or directory\nCommand failed -:1\n';

describe('a failed batch', () => {
  test('is read line by line, with what no line owns kept apart', () => {
    const failures = parseBatchFailures(`${LINK_GONE}RTNETLINK answers: File exists\nCommand failed -:3\nnsenter: cannot open /run/netns/x`);

    expect([...failures.lines]).toEqual([[2, 'Cannot find device "trve-e1aaaaaaaa"'], [3, 'RTNETLINK answers: File exists']]);
    expect(failures.unattributed).toBe('nsenter: cannot open /run/netns/x');
  });

  test('whose only failures are deletes of things already gone counts as done', () => {
    const lines = [['link', 'del', 'dev', 'trve-a'], ['link', 'del', 'dev', 'trve-e1aaaaaaaa']];

    expect(onlyAlreadyGone(lines, LINK_GONE)).toBe(true);
    expect(onlyAlreadyGone([['netns', 'del', 'trsb-web']], NETNS_GONE)).toBe(true);
    expect(onlyAlreadyGone([['addr', 'del', '172.29.0.2/16', 'dev', 'gw0']], ADDRESS_GONE)).toBe(true);
  });

  test('still fails for a delete that failed otherwise, for anything but a delete, and for a failure no line owns', () => {
    expect(onlyAlreadyGone([['link', 'del', 'dev', 'trve-a']], 'RTNETLINK answers: Operation not permitted\nCommand failed -:1\n')).toBe(false);
    expect(onlyAlreadyGone([['link', 'set', 'dev', 'trve-a', 'up']], 'Cannot find device "trve-a"\nCommand failed -:1\n')).toBe(false);
    expect(onlyAlreadyGone([['link', 'del', 'dev', 'trve-a'], ['link', 'add', 'name', 'x']], `Cannot find device "trve-a"\nCommand failed -:1\nRTNETLINK answers: File exists\nCommand failed -:2\n`)).toBe(false);
    // A `neigh del` that fails exits at once, without naming its line: what came after it never ran.
    expect(onlyAlreadyGone([['neigh', 'del', '10.0.0.1', 'dev', 'trvx-1']], 'RTNETLINK answers: No such file or directory\n')).toBe(false);
  });
});
