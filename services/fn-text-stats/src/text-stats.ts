import { ENGLISH_STOP_WORDS } from './stop-words';
import { countSyllables } from './syllables';

/**
 * Average silent reading rate of adults for English non-fiction: 238 words per minute
 * (Brysbaert, "How many words do we read per minute?", Journal of Memory and Language 109,
 * 2019). The same study gives 260 for fiction.
 */
export const DEFAULT_WORDS_PER_MINUTE = 238;

/**
 * Abbreviations that end with a period inside a sentence. The sentence segmenter of Node's
 * ICU splits after them ("Mr. Smith" becomes two sentences), so such splits are joined again.
 */
const ABBREVIATIONS = new Set([
  'mr',
  'mrs',
  'ms',
  'dr',
  'prof',
  'st',
  'mt',
  'jr',
  'sr',
  'vs',
  'e.g',
  'i.e',
  'etc',
  'no',
  'fig',
]);

export interface WordCount {
  readonly word: string;
  readonly count: number;
}

export interface TextStats {
  readonly characters: number;
  readonly words: number;
  readonly uniqueWords: number;
  readonly sentences: number;
  readonly paragraphs: number;
  readonly syllables: number;
  readonly averageWordsPerSentence: number | null;
  readonly averageSyllablesPerWord: number | null;
  readonly readingTime: { readonly minutes: number; readonly wordsPerMinute: number };
  /** Null for a text without words, where the formulas divide by zero. */
  readonly readability: {
    readonly fleschReadingEase: number;
    readonly fleschKincaidGrade: number;
  } | null;
  /** Most frequent words other than stop words, most frequent first, ties alphabetical. */
  readonly topWords: readonly WordCount[];
}

export interface TextStatsOptions {
  readonly topWords: number;
  readonly wordsPerMinute: number;
}

/** Splits text into words as Unicode word segmentation does, lower-cased. */
export function tokenizeWords(text: string): string[] {
  const segmenter = new Intl.Segmenter('en', { granularity: 'word' });
  const words: string[] = [];
  for (const segment of segmenter.segment(text)) {
    if (segment.isWordLike) words.push(segment.segment.toLowerCase().replaceAll('\u2019', "'"));
  }
  return words;
}

/** Counts sentences that contain at least one word, joining splits after abbreviations. */
export function countSentences(text: string): number {
  const segmenter = new Intl.Segmenter('en', { granularity: 'sentence' });
  let count = 0;
  let continuesPrevious = false;
  for (const { segment } of segmenter.segment(text)) {
    if (tokenizeWords(segment).length === 0) continue;
    if (!continuesPrevious) count += 1;
    continuesPrevious = endsWithAbbreviation(segment);
  }
  return count;
}

function endsWithAbbreviation(sentence: string): boolean {
  const match = /(\S+)\.\s*$/.exec(sentence);
  if (!match) return false;
  return ABBREVIATIONS.has(match[1]!.toLowerCase().replace(/^\W+/, ''));
}

/** Counts blocks of text separated by blank lines. */
export function countParagraphs(text: string): number {
  return text.split(/\n\s*\n/).filter((block) => block.trim() !== '').length;
}

/** Returns the `limit` most frequent words, leaving out stop words, numbers and single letters. */
export function topWords(words: readonly string[], limit: number): WordCount[] {
  const counts = new Map<string, number>();
  for (const word of words) {
    if (word.length < 2 || ENGLISH_STOP_WORDS.has(word) || !/\p{L}/u.test(word)) continue;
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return [...counts]
    .map(([word, count]) => ({ word, count }))
    .sort((left, right) => right.count - left.count || left.word.localeCompare(right.word))
    .slice(0, limit);
}

/**
 * Flesch Reading Ease: 206.835 - 1.015 * (words / sentences) - 84.6 * (syllables / words).
 * Higher is easier to read.
 */
export function fleschReadingEase(words: number, sentences: number, syllables: number): number {
  return 206.835 - 1.015 * (words / sentences) - 84.6 * (syllables / words);
}

/** Flesch-Kincaid grade: 0.39 * (words / sentences) + 11.8 * (syllables / words) - 15.59. */
export function fleschKincaidGrade(words: number, sentences: number, syllables: number): number {
  return 0.39 * (words / sentences) + 11.8 * (syllables / words) - 15.59;
}

/** Computes every statistic of one text. */
export function analyzeText(text: string, options: TextStatsOptions): TextStats {
  const words = tokenizeWords(text);
  const sentences = countSentences(text);
  const syllables = words.reduce((total, word) => total + countSyllables(word), 0);
  const hasProse = words.length > 0 && sentences > 0;

  return {
    characters: [...text].length,
    words: words.length,
    uniqueWords: new Set(words).size,
    sentences,
    paragraphs: countParagraphs(text),
    syllables,
    averageWordsPerSentence: hasProse ? round(words.length / sentences, 2) : null,
    averageSyllablesPerWord: hasProse ? round(syllables / words.length, 2) : null,
    readingTime: {
      minutes: round(words.length / options.wordsPerMinute, 1),
      wordsPerMinute: options.wordsPerMinute,
    },
    readability: hasProse
      ? {
          fleschReadingEase: round(fleschReadingEase(words.length, sentences, syllables), 1),
          fleschKincaidGrade: round(fleschKincaidGrade(words.length, sentences, syllables), 1),
        }
      : null,
    topWords: topWords(words, options.topWords),
  };
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
