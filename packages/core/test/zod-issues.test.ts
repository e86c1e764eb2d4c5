import { z } from 'zod';
import { toValidationIssues } from '../src/schemas/zod-issues';

function issueMessage(schema: z.ZodType, input: unknown): string {
  const result = schema.safeParse(input);
  if (result.success) throw new Error('expected the input to fail the schema');
  const [issue] = toValidationIssues(result.error, input);
  if (!issue) throw new Error('expected one issue');
  return issue.message;
}

describe('toValidationIssues', () => {
  test('gives a long string its own length', () => {
    const message = issueMessage(z.string().max(5), 'y'.repeat(70));

    expect(message).toContain('... (70 characters)');
  });

  test('counts a string in code points', () => {
    const message = issueMessage(z.string().max(5), '😀'.repeat(70));

    expect(message).toContain('... (70 characters)');
  });

  test('gives other values their JSON length', () => {
    const value = Array.from({ length: 30 }, (_, index) => index);
    const message = issueMessage(z.array(z.number()).max(5), value);

    expect(message).toContain(`... (${JSON.stringify(value).length} characters of JSON)`);
  });

  test('shows a short value whole', () => {
    const message = issueMessage(z.string().max(2), 'abc');

    expect(message).toContain('(given: "abc")');
  });
});
