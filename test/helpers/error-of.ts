/** What tests read of a rejection: an AWS SDK service error's name, message and HTTP status, or any other field. */
export interface CaughtError {
  name: string;
  message: string;
  $metadata: { httpStatusCode?: number };
  [field: string]: unknown;
}

/** The error a promise rejects with; fails the test when it resolves instead. */
export async function errorOf(p: Promise<unknown>): Promise<CaughtError> {
  try {
    await p;
  } catch (err) {
    return err as CaughtError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
