import { status } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { ControlClient } from '../../proto/gen/trellis/v1/control';
import { callUnary } from '../../proto/runtime/unary-call';
import { adminControl } from '../cluster-clients';
import { startManager, type RunningManager } from '../daemon';
import { refused } from './refused';
import { boundedMessage, MAX_MESSAGE_CHARS } from './status';

describe('a refusal that quotes a huge value', () => {
  let dataDir: string;
  let manager: RunningManager;
  let control: ControlClient;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'trellis-long-refusal-'));
    manager = await startManager({ listen: '127.0.0.1:0', dataDir, logger: pino({ level: 'silent' }), adminDir: join(dataDir, 'admin') });
    control = adminControl(manager.address, join(dataDir, 'admin'));
  });
  afterAll(async () => {
    control.close();
    await manager.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reaches the client, its message cut short (a 300 KB name echoed back used to leave the call unanswered until its deadline)', async () => {
    const name = 'x'.repeat(300_000);
    const error = await refused(callUnary(control, (c) => c.getNetwork, { network: name }, 10_000));
    expect(status[error.code]).toBe('NOT_FOUND');
    expect(error.details).toMatch(/^network: no network named or with id "x+… \(message cut at 1024 of 300039 characters\)$/);
  });

  it('leaves short messages alone', () => {
    expect(boundedMessage('name: "a b" is not a valid network name')).toBe('name: "a b" is not a valid network name');
    expect(boundedMessage('y'.repeat(MAX_MESSAGE_CHARS))).toBe('y'.repeat(MAX_MESSAGE_CHARS));
  });
});
