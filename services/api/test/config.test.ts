import { ConfigError } from '@bullpen/core';
import { loadApiConfig } from '../src/config';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadApiConfig(env);
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('loadApiConfig accepted an invalid environment');
}

describe('loadApiConfig AUTH_TOKENS', () => {
  test('trims tokens and drops empty entries', () => {
    const config = loadApiConfig({ AUTH_TOKENS: ' first , second ,, third ' });

    expect(config.authTokens).toEqual(['first', 'second', 'third']);
  });

  test('accepts ASCII punctuation in tokens', () => {
    const config = loadApiConfig({ AUTH_TOKENS: 'a-b_c.d~e+f/g=,!#$%&*?@^|' });

    expect(config.authTokens).toEqual(['a-b_c.d~e+f/g=', '!#$%&*?@^|']);
  });

  test('rejects a non-ASCII token', () => {
    const error = configError({ AUTH_TOKENS: 'plain-token,tökén' });

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.variable).toBe('AUTH_TOKENS');
    expect(error.message).toContain(
      'entry 2 contains a space or a character outside visible ASCII',
    );
    expect(error.message).not.toContain('tökén');
  });

  test('rejects a token with a space', () => {
    const error = configError({ AUTH_TOKENS: 'two words' });

    expect(error.variable).toBe('AUTH_TOKENS');
    expect(error.message).toContain('entry 1 contains a space');
    expect(error.message).not.toContain('two words');
  });

  test('rejects a control character', () => {
    const error = configError({ AUTH_TOKENS: 'tab\tinside' });

    expect(error.variable).toBe('AUTH_TOKENS');
    expect(error.message).toContain('entry 1 contains');
  });

  test('counts empty entries in the position', () => {
    const error = configError({ AUTH_TOKENS: ',,good,bad token' });

    expect(error.message).toContain('entry 4 contains');
  });

  test('names every invalid entry', () => {
    const error = configError({ AUTH_TOKENS: 'good,€uro,also bad' });

    expect(error.message).toContain('entries 2, 3 contain');
    expect(error.message).not.toContain('€uro');
  });

  test.each(['\u00a0nbsp', 'x,\ufeffbom', 'a\u3000'])(
    'rejects Unicode spaces around %p',
    (tokens) => {
      const error = configError({ AUTH_TOKENS: tokens });

      expect(error.variable).toBe('AUTH_TOKENS');
      expect(error.message).toContain('contains a space or a character outside visible ASCII');
    },
  );
});
