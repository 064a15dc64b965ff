/**
 * A problem with the input or the options, said so the person importing can fix it: the CLI prints the message
 * and exits non-zero, the HTTP API answers it as a 4xx or a failed job. Nothing has been changed when it is thrown.
 */
export class ImportError extends Error {
  constructor(
    message: string,
    /** Machine-readable kind, e.g. `bad_input`, `bad_option`, `unknown_crs`, `conflict`. */
    readonly code: string = 'bad_input',
  ) {
    super(message);
  }
}
