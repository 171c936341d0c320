// What the Restricted Mode window's workspace settings say: a model and a task that do not exist.
// Were they used, every request would fail; the manifest's restrictedConfigurations hide them.
export const RESTRICTED_WORKSPACE_SETTINGS = {
  'hdlm.model': './no-such-model',
  'hdlm.task': 'no-such-task.hdlm.json',
};
