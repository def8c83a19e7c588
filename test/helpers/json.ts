/**
 * A JSON answer as a test reads it: any member or element can be followed (and may be missing at run time, which
 * the assertion then reports); leaves go to expect(). Arrays keep their methods; a leaf that a test uses as a string
 * or number is converted with String() / Number(), so that nothing unchecked looks typed.
 */
export interface Json {
  readonly [key: string]: Json;
}

/** The elements of a JSON array; fails the test when `j` is not one. */
export function list(j: Json | undefined): Json[] {
  if (!Array.isArray(j)) throw new Error(`expected a JSON array, got ${JSON.stringify(j)}`);
  return j;
}
