// The client's restart budget for a language server that dies: up to hdlm.server.maxRestarts
// restarts (4 by default) for the deaths within three minutes, then it gives up; deaths older
// than that are forgotten, so a server that dies now and then is always restarted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RESTART_WINDOW_MS, restartDecision } from '../../../client/src/restartBudget';

/** The decisions for deaths at these times (ms), each given the deaths kept before it. */
function decide(times: readonly number[], maxRestarts = 4): boolean[] {
  let deaths: number[] = [];
  return times.map((now) => {
    const decision = restartDecision(deaths, now, maxRestarts);
    deaths = decision.deaths;
    return decision.restart;
  });
}

test('four deaths within three minutes are restarted; the fifth gives up', () => {
  // Deaths a second apart: all five in the window. The fourth is the last the budget allows
  // (4 deaths, 4 restarts: at most, not fewer than), the fifth is one too many.
  assert.deepEqual(decide([0, 1000, 2000, 3000, 4000]), [true, true, true, true, false]);
  assert.deepEqual(decide([0, 1000], 1), [true, false]);
  assert.deepEqual(decide([0], 0), [false], 'maxRestarts 0: never restarted');
});

test('deaths older than three minutes drop out of the count', () => {
  const minute = 60_000;
  // Four early deaths, then one three and a half minutes after the first: the first has left the window.
  assert.deepEqual(decide([0, minute, 2 * minute, 2.5 * minute, 3.5 * minute]), [true, true, true, true, true]);
  const { deaths } = restartDecision([0, minute, 2 * minute, 2.5 * minute], 3.5 * minute, 4);
  assert.deepEqual(deaths, [minute, 2 * minute, 2.5 * minute, 3.5 * minute]);
  // A server that dies every two minutes is always restarted.
  assert.deepEqual(decide(Array.from({ length: 10 }, (_, i) => i * 2 * minute)), Array(10).fill(true));
});

test('a death exactly three minutes before still counts; one a millisecond older does not', () => {
  const early = [0, 10, 20, 30];
  assert.equal(restartDecision(early, RESTART_WINDOW_MS, 4).restart, false, 'the death at 0 is exactly the window before: five deaths in it');
  assert.deepEqual(restartDecision(early, RESTART_WINDOW_MS + 1, 4), { deaths: [10, 20, 30, RESTART_WINDOW_MS + 1], restart: true });
});
