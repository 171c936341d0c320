// What package.json contributes, against VS Code's conventions for an extension's UI: a shortcut
// macOS or VS Code's mac menus already take never reaches the extension; every command shows in
// the palette under the extension's category; every setting says what it does, each enum value
// included; a command that asks for more before it acts says so with "…", as the status menu
// says it; settings that describe one machine are not shared through a workspace; and an untrusted
// workspace cannot set the ones that choose or run the model.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../support/taskWorkspace';

interface Setting {
  type?: string;
  scope?: string;
  description?: string;
  markdownDescription?: string;
  enum?: unknown[];
  enumDescriptions?: string[];
  items?: Setting;
}

interface Contributes {
  commands: { command: string; title: string; category?: string }[];
  keybindings: { command: string; key: string; mac?: string }[];
  configuration: { properties: Record<string, Setting> };
}

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { contributes: Contributes; capabilities: { untrustedWorkspaces: { supported: unknown; restrictedConfigurations?: string[] } } };
const { commands, keybindings, configuration } = manifest.contributes;
const settings = configuration.properties;

/** A chord with its modifiers in one order, so "alt+cmd+h" and "cmd+alt+h" compare equal. */
function normalChord(chord: string): string {
  return chord
    .split(' ')
    .map((part) => {
      const keys = part.toLowerCase().split('+');
      const key = keys.pop()!;
      return [...['ctrl', 'shift', 'alt', 'cmd'].filter((m) => keys.includes(m)), key].join('+');
    })
    .join(' ');
}

/**
 * Chords a macOS VS Code never passes to an extension: the app menu's Hide (cmd+h), Hide Others
 * (cmd+alt+h), Quit, Minimize, Preferences; the window's Close and Full Screen; and the system's
 * Spotlight, app switcher, Force Quit, Lock Screen, emoji picker, Dock and screenshots.
 */
const MAC_RESERVED = [
  'cmd+h', 'cmd+alt+h', 'cmd+q', 'cmd+m', 'cmd+alt+m', 'cmd+,', 'cmd+w', 'ctrl+cmd+f',
  'cmd+space', 'cmd+alt+space', 'ctrl+space', 'cmd+tab', 'cmd+`', 'cmd+alt+escape', 'ctrl+cmd+q',
  'ctrl+cmd+space', 'ctrl+cmd+d', 'cmd+alt+d', 'cmd+shift+3', 'cmd+shift+4', 'cmd+shift+5',
].map(normalChord);

test('no keybinding uses a chord macOS or its VS Code menus keep for themselves', () => {
  assert.ok(MAC_RESERVED.includes(normalChord('alt+cmd+h')), 'the list itself normalises the order of modifiers');
  for (const binding of keybindings) {
    // Without a "mac" chord the "key" one is used on macOS too (ctrl stays ctrl).
    const mac = normalChord(binding.mac ?? binding.key);
    assert.ok(!MAC_RESERVED.includes(mac), `${binding.command}: ${mac} is taken on macOS`);
  }
});

test('the README names the Classify shortcut that package.json binds, on every platform', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const row = readme.split('\n').find((line) => line.startsWith('| Classify Hierarchically'));
  const binding = keybindings.find((b) => b.command === 'hdlm.classify');
  assert.ok(row && binding);
  for (const chord of [binding.key, binding.mac]) assert.ok(chord && row.includes(`\`${chord}\``), `README's Classify row names ${chord}`);
});

test('every contributed command has a category, so the palette shows it under "HdLM:"', () => {
  for (const c of commands) assert.equal(c.category, 'HdLM', c.command);
});

test('every setting says what it does, and every enum says what each value does', () => {
  const described = (s: Setting): boolean => Boolean(s.description?.trim() || s.markdownDescription?.trim());
  for (const [name, setting] of Object.entries(settings)) {
    assert.ok(described(setting), `${name} has a description`);
    for (const s of [setting, setting.items].filter((x): x is Setting => x?.enum !== undefined)) {
      assert.equal(s.enumDescriptions?.length, s.enum!.length, `${name}: one enumDescription per enum value`);
    }
    // A setting or command named in plain text is not a link: markdown links them.
    if (setting.description) assert.doesNotMatch(setting.description, /hdlm\.\w|HdLM: [A-Z]/, `${name}: names a setting or command: use markdownDescription with a link`);
  }
});

test('the links in setting descriptions name settings and commands that exist', () => {
  const ids = new Set(commands.map((c) => c.command));
  for (const [name, setting] of Object.entries(settings)) {
    const text = setting.markdownDescription ?? '';
    for (const [, linked] of text.matchAll(/`#([\w.]+)#`/g)) assert.ok(linked! in settings, `${name} links the setting ${linked}`);
    for (const [, command] of text.matchAll(/\(command:([\w.]+)\)/g)) assert.ok(ids.has(command!), `${name} links the command ${command}`);
  }
});

test('hdlm.maxTokens says what the server does with it: the answer\'s budget, the thought capped below it', () => {
  // The caps are the server's constants, read from its source so that the text follows them.
  const server = readFileSync(join(REPO_ROOT, 'server', 'src', 'hdlmServer.ts'), 'utf8');
  const cap = (name: string): string => new RegExp(`const ${name} = (\\d+);`).exec(server)?.[1] ?? assert.fail(`${name} in hdlmServer.ts`);
  const text = settings['hdlm.maxTokens']?.markdownDescription ?? settings['hdlm.maxTokens']?.description ?? '';
  assert.match(text, new RegExp(`thought[^.]*at most ${cap('THOUGHT_TOKENS')} tokens \\(${cap('INLINE_THOUGHT_TOKENS')} in an inline completion\\)`));
  assert.doesNotMatch(text, /thought or answer/);
});

/** Commands that always ask for more (a quick pick) before they act, when run from the palette. */
const ASK_FIRST = ['hdlm.selectModel', 'hdlm.selectTask', 'hdlm.selectDevice', 'hdlm.createTask', 'hdlm.showJobs', 'hdlm.showLabelMistakes'];

test('a command that asks for more before it acts ends its title with "…", as the status menu shows it', () => {
  const menu = readFileSync(join(REPO_ROOT, 'client', 'src', 'jobsMenu.ts'), 'utf8');
  for (const id of ASK_FIRST) {
    const title = commands.find((c) => c.command === id)?.title;
    assert.ok(title?.endsWith('…'), `${id}: "${title}" ends with "…"`);
    // The status bar menu's item for the same command reads the same.
    const item = new RegExp(`label: '\\$\\([\\w-]+\\) ([^']+)'[^}]*command: '${id.replace('.', '\\.')}'`).exec(menu);
    if (item) assert.equal(item[1], title, `${id}: the status menu's label`);
  }
});

test('settings that describe this machine (its device, its cores) are machine-overridable', () => {
  for (const name of ['hdlm.executionProviders', 'hdlm.threads']) assert.equal(settings[name]?.scope, 'machine-overridable', name);
});

test('Restricted Mode hides the workspace settings that choose a model or task, or run the model on every keystroke', () => {
  const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations ?? [];
  // An untrusted folder's .vscode/settings.json turning inline completions on (for every language)
  // would run the model on each keystroke in any file opened there.
  for (const name of ['hdlm.model', 'hdlm.task', 'hdlm.inline.enabled', 'hdlm.inline.languages']) assert.ok(restricted.includes(name), `${name} is in restrictedConfigurations`);
  for (const name of restricted) assert.ok(settings[name], `restrictedConfigurations names ${name}, which is a setting`);
});
