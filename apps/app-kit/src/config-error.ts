/**
 * A setting an app cannot start with (a bad port, file, key or entry): the message names the
 * variable and the file, so the app stops with that one line and exit code 2.
 */
export class AppConfigError extends Error {
  override readonly name: string = 'AppConfigError';
}
