/**
 * `expect(result).toExitWith(code)`: when a CLI run ends with the wrong exit code, the failure shows what the CLI
 * said (the tail of stderr and stdout), so a red CI run can be diagnosed from its log alone.
 */
export {};

interface RunLike {
  code: number | null;
  signal?: NodeJS.Signals | null;
  stdout?: string;
  stderr?: string;
}

declare global {
  // Jest's matcher types live in the global namespace `jest`: augmenting them takes a namespace declaration.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    interface Matchers<R> {
      toExitWith(code: number): R;
    }
  }
}

const tail = (s: string | undefined, n = 3000) => (!s ? '(empty)' : s.length > n ? `...${s.slice(-n)}` : s);

expect.extend({
  toExitWith(received: RunLike, code: number) {
    const pass = received.code === code;
    return {
      pass,
      message: () =>
        pass
          ? `expected the CLI not to exit with ${code}`
          : `expected the CLI to exit with ${code}, but it exited with ${received.code}${received.signal ? ` (signal ${received.signal})` : ''}\n` +
            `--- stderr ---\n${tail(received.stderr)}\n--- stdout ---\n${tail(received.stdout)}`,
    };
  },
});
