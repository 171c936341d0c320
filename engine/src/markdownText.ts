// Strings from the user's files put into Markdown: labels, thoughts, task and model names, file
// paths, dates and messages read from kept records. The editor renders hovers and reports as
// Markdown, so such a string, written raw, is markup: a label `a` ![x](https://host/pixel.png)``
// closed the backticks around it and showed a remote image on hover (a request to any host, on
// merely pointing at a line of a downloaded dataset). Every such string goes through one of these
// two, the one owner of that escaping. Import-free: the editor's client bundle uses it too.

/**
 * `text` as Markdown text that reads as written, line breaks made spaces (a table cell, a heading,
 * a sentence): the characters that open markup escaped. `[` and `]` escaped, no link or image can
 * form (a parenthesis alone is text); `<` and `>`, no HTML or autolink; `|`, no table cell ends.
 */
export function markdownText(text: string): string {
  return text.replace(/[\\`*_[\]<>|~]/g, (c) => `\\${c}`).replace(/\r?\n|\r/g, ' ');
}

/**
 * `text` as an inline code span: fenced by one more backtick than its longest run of backticks
 * (CommonMark: a span ends only at a run of the same length, so none inside can close it), padded
 * with a space where it begins or ends with a backtick (the padding is stripped when shown).
 * Inside a code span nothing is markup, so a label's brackets and parentheses stay text.
 */
export function inlineCode(text: string): string {
  const flat = text.replace(/\r?\n|\r/g, ' ');
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}
