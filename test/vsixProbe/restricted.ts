// What the Restricted Mode window's workspace settings say: a model and a task that do not exist,
// and inline completions on in every language. Were they used, every request would fail and each
// keystroke would run the model; the manifest's restrictedConfigurations hide them.
export const RESTRICTED_WORKSPACE_SETTINGS = {
  'hdlm.model': './no-such-model',
  'hdlm.task': 'no-such-task.hdlm.json',
  'hdlm.inline.enabled': true,
  'hdlm.inline.languages': ['*'],
};
