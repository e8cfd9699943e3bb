/**
 * Whole-run guard (jest setupFilesAfterEnv): every test file plants secret values that
 * contain "canary-" (any case), and no line the code under test prints to stdout, stderr or
 * the console may contain one. Files that capture their own logs check them too; this
 * catches what reaches the real streams from anywhere else in the run.
 */
const PLANTED = /canary-/i;
const leaks: string[] = [];

const note = (text: string) => {
  if (PLANTED.test(text)) leaks.push(text.length > 300 ? `${text.slice(0, 300)}...` : text);
};

for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = (chunk: unknown, ...rest: unknown[]) => {
    note(
      typeof chunk === 'string'
        ? chunk
        : chunk instanceof Uint8Array
          ? Buffer.from(chunk).toString('utf8')
          : '',
    );
    return write(chunk, ...rest);
  };
}

for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    note(
      args
        .map((a) =>
          typeof a === 'string'
            ? a
            : a instanceof Error
              ? `${a.name}: ${a.message}`
              : (JSON.stringify(a) ?? ''),
        )
        .join(' '),
    );
    original(...args);
  };
}

afterAll(() => {
  expect(leaks).toEqual([]);
});
