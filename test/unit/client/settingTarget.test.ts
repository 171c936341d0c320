// Select Device writes the device order where it belongs: the user's settings (it suits this
// machine, not a project whose .vscode/settings.json others share), unless the workspace already
// sets it, which would override a user value, so the choice replaces the workspace's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { machineSettingTarget } from '../../../client/src/settingTarget';

test('no workspace value: the user settings', () => {
  assert.equal(machineSettingTarget(undefined), 'user');
  assert.equal(machineSettingTarget({}), 'user');
  assert.equal(machineSettingTarget({ workspaceValue: undefined }), 'user');
});

test('the workspace already sets it: there, where it takes effect', () => {
  assert.equal(machineSettingTarget({ workspaceValue: ['cuda', 'cpu'] }), 'workspace');
  // An empty list is still a value the workspace sets (the server reports it as invalid).
  assert.equal(machineSettingTarget({ workspaceValue: [] }), 'workspace');
});
