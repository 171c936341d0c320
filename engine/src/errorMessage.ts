// The text of whatever a `catch` caught: an Error's message, else the value as a string (a
// rejected promise or a `throw` may carry anything). One place for the idiom the engine, the
// server, the client and the tools all use when they report a failure. No imports: the client
// bundles it, and it must pull nothing else in.

/** `err.message` for an Error, else `String(err)`. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
