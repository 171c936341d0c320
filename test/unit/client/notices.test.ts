// The client's failure notices say what failed the way a person asked for it (the verb and the
// task file, not "job-3" or "setLayer") and offer the next step: the log always, a server
// restart when the server stopped under the job or never answered.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { RESTART_SERVER, SHOW_LOG, jobFailedNotice, jobNotStartedNotice, jobTitle, panelFailedNotice } from '../../../client/src/notices';

const task = join('/work', 'proj', 'tasks', 'wordnet.hdlm.json');

test('a job is named by its verb and task file, never its id', () => {
  assert.equal(jobTitle('train', task), 'Fine-tuning wordnet.hdlm.json');
  assert.equal(jobTitle('evaluate', task), 'Evaluating wordnet.hdlm.json');
  assert.equal(jobTitle('scan', task), 'Scanning the layers of wordnet.hdlm.json');
});

test('a failed job offers the log, and a restart only when the server stopped under it', () => {
  const own = jobFailedNotice('train', task, 'dev split is empty', false);
  assert.deepEqual(own, { message: 'HdLM: Fine-tuning wordnet.hdlm.json failed: dev split is empty', actions: [SHOW_LOG] });
  const stopped = jobFailedNotice('evaluate', task, 'the HdLM server stopped during this job', true);
  assert.equal(stopped.message, 'HdLM: Evaluating wordnet.hdlm.json failed: the HdLM server stopped during this job');
  assert.deepEqual(stopped.actions, [SHOW_LOG, RESTART_SERVER]);
  assert.doesNotMatch(own.message + stopped.message, /job-\d/);
});

test('a job that did not start says which and offers a restart when no server answered', () => {
  assert.deepEqual(jobNotStartedNotice('scan', task, 'no such file', false), { message: 'HdLM: Scanning the layers of wordnet.hdlm.json did not start: no such file', actions: [SHOW_LOG] });
  assert.deepEqual(jobNotStartedNotice('train', task, 'the HdLM server is not running', true).actions, [SHOW_LOG, RESTART_SERVER]);
});

test('a task panel action that failed is said in words, with its file, not as a message type', () => {
  const uri = pathToFileURL(join('/work', 'my tasks', 'animals.hdlm.json')).href;
  const notice = panelFailedNotice({ type: 'setLayer', uri, level: 1, layer: 3 }, 'the file changed on disk');
  assert.deepEqual(notice, { message: "HdLM: could not change the level's layer (animals.hdlm.json): the file changed on disk", actions: [SHOW_LOG] });
  assert.equal(panelFailedNotice({ type: 'cancel', jobId: 'job-3' }, 'gone').message, 'HdLM: could not cancel the job: gone');
  assert.equal(panelFailedNotice({ type: 'useScanLayers', uri, layers: [4, 'last'] }, 'x').message, 'HdLM: could not write the suggested layers into the task file (animals.hdlm.json): x');
  for (const type of ['setLayer', 'useScanLayers', 'evaluateOnFile', 'createTask'] as const) {
    assert.doesNotMatch(panelFailedNotice({ type, uri } as never, 'x').message, new RegExp(`\\b${type}\\b`), `${type} is not shown as code`);
  }
});
