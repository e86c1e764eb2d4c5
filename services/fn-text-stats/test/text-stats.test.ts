import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UnrecoverableError, type HandlerJob, type JobContext } from '@bullpen/handler';
import { loadTextStatsConfig } from '../src/config';
import { listTextFiles } from '../src/data-files';
import { textStatsRequestSchema, type TextStatsRequest } from '../src/request';
import { countSyllables } from '../src/syllables';
import {
  analyzeText,
  countParagraphs,
  countSentences,
  DEFAULT_WORDS_PER_MINUTE,
  fleschKincaidGrade,
  fleschReadingEase,
  tokenizeWords,
  topWords,
} from '../src/text-stats';
import { runTextStats } from '../src/text-stats-job';

const DATA_DIR = path.resolve(__dirname, '..', 'data');
const options = { topWords: 5, wordsPerMinute: DEFAULT_WORDS_PER_MINUTE };

describe('tokenizeWords', () => {
  test('keeps contractions and drops punctuation', () => {
    expect(tokenizeWords("Don't stop: it's   late, Mara!")).toEqual([
      "don't",
      'stop',
      "it's",
      'late',
      'mara',
    ]);
  });

  test('normalises curly apostrophes', () => {
    expect(tokenizeWords('You\u2019re here')).toEqual(["you're", 'here']);
  });

  test('splits hyphenated words and keeps numbers', () => {
    expect(tokenizeWords('twenty-four 3.5 km')).toEqual(['twenty', 'four', '3.5', 'km']);
  });

  test('finds no words in punctuation', () => {
    expect(tokenizeWords(' -- ... ! ')).toEqual([]);
  });
});

describe('countSentences', () => {
  test('counts full stops, questions and exclamations', () => {
    expect(countSentences('It rained. Did it? Yes! Then it stopped.')).toBe(4);
  });

  test('does not split after abbreviations', () => {
    expect(countSentences('Mr. Smith met Dr. Jones at the pier. They talked.')).toBe(2);
  });

  test('counts a final sentence without a full stop', () => {
    expect(countSentences('One sentence. Another one without a stop')).toBe(2);
  });

  test('ignores segments without words', () => {
    expect(countSentences('...\n\n!!')).toBe(0);
  });
});

describe('countSyllables', () => {
  test.each([
    ['the', 1],
    ['water', 2],
    ['tides', 1],
    ['stone', 1],
    ['apple', 2],
    ['baked', 1],
    ['wanted', 2],
    ['makes', 1],
    ['boxes', 2],
    ['media', 3],
    ['social', 2],
    ['people', 2],
    ['beautiful', 3],
    ['gravitational', 5],
    ['lighthouse', 2],
    ['particular', 4],
  ])('estimates %s as %i', (word, syllables) => {
    expect(countSyllables(word)).toBe(syllables);
  });

  test('counts one for a word without letters', () => {
    expect(countSyllables('2024')).toBe(1);
  });
});

describe('topWords', () => {
  test('leaves out stop words, numbers and single letters', () => {
    const words = tokenizeWords('The moon and the tide. The moon, 12 x the sea, a moon.');

    expect(topWords(words, 10)).toEqual([
      { word: 'moon', count: 3 },
      { word: 'sea', count: 1 },
      { word: 'tide', count: 1 },
    ]);
  });

  test('limits the list', () => {
    expect(topWords(['alpha', 'beta', 'gamma'], 2)).toHaveLength(2);
  });
});

describe('readability formulas', () => {
  test('score a text with known counts', () => {
    // "The cat sat. The dog ran.": 6 words, 2 sentences, 6 syllables.
    const stats = analyzeText('The cat sat. The dog ran.', options);

    expect(stats.words).toBe(6);
    expect(stats.sentences).toBe(2);
    expect(stats.syllables).toBe(6);
    expect(stats.readability?.fleschReadingEase).toBeCloseTo(206.835 - 1.015 * 3 - 84.6 * 1, 1);
    expect(stats.readability?.fleschKincaidGrade).toBeCloseTo(0.39 * 3 + 11.8 * 1 - 15.59, 1);
  });

  test('rate longer words and sentences as harder', () => {
    expect(fleschReadingEase(20, 1, 40)).toBeLessThan(fleschReadingEase(10, 1, 12));
    expect(fleschKincaidGrade(20, 1, 40)).toBeGreaterThan(fleschKincaidGrade(10, 1, 12));
  });

  test('are null for a text without words', () => {
    const stats = analyzeText('   ', options);

    expect(stats.words).toBe(0);
    expect(stats.readability).toBeNull();
    expect(stats.averageWordsPerSentence).toBeNull();
  });
});

describe('analyzeText', () => {
  test('estimates reading time from the words per minute', () => {
    const text = Array.from({ length: 476 }, () => 'word').join(' ') + '.';

    expect(analyzeText(text, { topWords: 1, wordsPerMinute: 238 }).readingTime.minutes).toBe(2);
    expect(analyzeText(text, { topWords: 1, wordsPerMinute: 119 }).readingTime.minutes).toBe(4);
  });

  test('counts paragraphs separated by blank lines', () => {
    expect(countParagraphs('First.\n\nSecond\nstill second.\n  \nThird.')).toBe(3);
  });

  test('scores the story as easier than the science text', () => {
    const story = fs.readFileSync(path.join(DATA_DIR, 'harbour-at-dawn.txt'), 'utf8');
    const science = fs.readFileSync(path.join(DATA_DIR, 'how-tides-work.txt'), 'utf8');

    const storyEase = analyzeText(story, options).readability!.fleschReadingEase;
    const scienceEase = analyzeText(science, options).readability!.fleschReadingEase;

    expect(storyEase).toBeGreaterThan(scienceEase);
  });

  test('matches a whitespace word count of the shipped texts within 5%', async () => {
    for (const file of await listTextFiles(DATA_DIR)) {
      const text = fs.readFileSync(path.join(DATA_DIR, file), 'utf8');
      const whitespaceWords = text.split(/\s+/).filter((token) => /\p{L}/u.test(token)).length;

      const stats = analyzeText(text, options);

      expect(Math.abs(stats.words - whitespaceWords) / whitespaceWords).toBeLessThan(0.05);
    }
  });
});

describe('runTextStats', () => {
  const config = { dataDir: DATA_DIR };

  function job(data: unknown): HandlerJob<TextStatsRequest> {
    return {
      id: '1',
      name: 'text-stats',
      data: textStatsRequestSchema.parse(data),
      opts: {},
      progress: 0,
      returnvalue: null,
      stacktrace: [],
      attemptsMade: 0,
      attemptsStarted: 1,
      delay: 0,
      timestamp: 0,
      queueQualifiedName: 'bull:text-stats',
    };
  }

  function recordingContext() {
    const progress: unknown[] = [];
    const logs: string[] = [];
    const ctx: JobContext = {
      queue: 'text-stats',
      attempt: 1,
      maxAttempts: 1,
      source: 'function-url',
      signal: new AbortController().signal,
      lambdaContext: undefined,
      remainingTimeMs: () => Number.POSITIVE_INFINITY,
      progress: async (value) => {
        progress.push(value);
      },
      log: async (line) => {
        logs.push(line);
      },
    };
    return { ctx, progress, logs };
  }

  test('returns the statistics of a shipped text', async () => {
    const { ctx, progress, logs } = recordingContext();

    const result = await runTextStats(
      job({ file: 'how-tides-work.txt', topWords: 3 }),
      ctx,
      config,
    );

    expect(result.file).toBe('how-tides-work.txt');
    expect(result.topWords).toHaveLength(3);
    expect(result.topWords.map((entry) => entry.word)).toContain('moon');
    expect(progress).toEqual([30, 100]);
    expect(logs[1]).toContain(`Counted ${result.words} words`);
  });

  test('rejects an unknown file as unrecoverable', async () => {
    const { ctx } = recordingContext();

    const failure = await runTextStats(job({ file: '../package.json' }), ctx, config).catch(
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(UnrecoverableError);
    expect((failure as Error).message).toContain('how-tides-work.txt');
  });

  test('finds data beside a bundled handler', () => {
    const bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'text-stats-bundle-'));
    fs.mkdirSync(path.join(bundleDir, 'data'));

    expect(loadTextStatsConfig({}, bundleDir).dataDir).toBe(path.join(bundleDir, 'data'));

    fs.rmSync(bundleDir, { recursive: true });
  });
});
