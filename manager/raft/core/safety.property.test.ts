import fc from 'fast-check';
import { TestNetwork } from './test-network';
import { ProposalDroppedError } from './types';
import type { Message, NodeId } from './types';

const ids: NodeId[] = ['a', 'b', 'c'];

type Action =
  | { kind: 'tick'; node: number }
  | { kind: 'deliver' | 'drop' | 'duplicate'; pick: number }
  | { kind: 'propose'; node: number }
  | { kind: 'restart'; node: number };

const node = fc.integer({ min: 0, max: ids.length - 1 });
const pick = fc.nat();
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: node.map((n): Action => ({ kind: 'tick', node: n })) },
  { weight: 8, arbitrary: pick.map((p): Action => ({ kind: 'deliver', pick: p })) },
  { weight: 1, arbitrary: pick.map((p): Action => ({ kind: 'drop', pick: p })) },
  { weight: 1, arbitrary: pick.map((p): Action => ({ kind: 'duplicate', pick: p })) },
  { weight: 2, arbitrary: node.map((n): Action => ({ kind: 'propose', node: n })) },
  { weight: 1, arbitrary: node.map((n): Action => ({ kind: 'restart', node: n })) },
);

const schedule = fc.array(action, { minLength: 200, maxLength: 600 });

function isPrefix(shorter: string[], longer: string[]): boolean {
  return shorter.every((command, i) => longer[i] === command);
}

describe('safety under message loss, duplication, reordering and restarts', () => {
  it('at most one leader per term; applied logs agree on their common prefix; a healed cluster converges', () => {
    fc.assert(
      fc.property(schedule, fc.boolean(), fc.boolean(), (actions, preVote, checkQuorum) => {
        const network = TestNetwork.cluster(ids, { preVote, checkQuorum, electionTick: 5 });
        const inFlight: Message[] = [];
        network.filter = (message) => {
          inFlight.push(message);
          return false;
        };
        const leaderOfTerm = new Map<number, NodeId>();
        let proposals = 0;

        const take = (p: number, remove: boolean): Message | undefined => {
          if (inFlight.length === 0) return undefined;
          const index = p % inFlight.length;
          const message = inFlight[index];
          if (remove) inFlight.splice(index, 1);
          return message;
        };

        for (const step of actions) {
          switch (step.kind) {
            case 'tick':
              network.node(ids[step.node] as NodeId).tick();
              break;
            case 'deliver':
            case 'duplicate': {
              const message = take(step.pick, step.kind === 'deliver');
              if (message !== undefined) network.node(message.to).step(message);
              break;
            }
            case 'drop':
              take(step.pick, true);
              break;
            case 'propose':
              try {
                network.node(ids[step.node] as NodeId).propose(new TextEncoder().encode(`p${proposals++}`));
              } catch (error) {
                if (!(error instanceof ProposalDroppedError)) throw error;
              }
              break;
            case 'restart':
              network.restart(ids[step.node] as NodeId);
              break;
          }
          for (const id of ids) network.handleReadyOf(id);

          for (const id of ids) {
            if (network.role(id) !== 'leader') continue;
            const term = network.term(id);
            const other = leaderOfTerm.get(term);
            if (other !== undefined && other !== id) throw new Error(`two leaders in term ${term}: ${other} and ${id}`);
            leaderOfTerm.set(term, id);
          }
          const applied = ids.map((id) => network.commands(id)).sort((x, y) => x.length - y.length);
          for (let i = 1; i < applied.length; i++) {
            if (!isPrefix(applied[i - 1] as string[], applied[i] as string[])) {
              throw new Error(`applied logs diverge: ${JSON.stringify(applied)}`);
            }
          }
        }

        // Liveness once the network behaves: one leader, and everybody applies the same log.
        network.heal();
        network.tickAll(60);
        const leaders = network.leaders();
        if (leaders.length !== 1) throw new Error(`expected one leader after healing, got ${JSON.stringify(leaders)}`);
        network.propose(leaders[0] as NodeId, 'final');
        const applied = ids.map((id) => JSON.stringify(network.commands(id)));
        if (new Set(applied).size !== 1) throw new Error(`applied logs differ after healing: ${applied.join(' / ')}`);
      }),
      { numRuns: 150 },
    );
  });
});
