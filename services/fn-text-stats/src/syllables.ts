/**
 * Estimates the syllables of an English word from its spelling. It counts one per group of
 * vowels and subtracts a silent final "e" and a silent "e" in "-es" and "-ed" endings. It adds
 * one for vowel pairs usually spoken as two syllables ("media", "video"). Words such as
 * "create" or "rhythm" come out one syllable short.
 */
export function countSyllables(word: string): number {
  const letters = word.toLowerCase().replace(/[^a-z]/g, '');
  if (letters === '') return 1;
  if (letters.length <= 3) return 1;

  let count = letters.match(/[aeiouy]+/g)?.length ?? 0;

  if (isSilentFinalE(letters)) count -= 1;
  if (/[^aeiouytd]ed$/.test(letters)) count -= 1;
  if (/[^aeiouysxzhgc]es$/.test(letters)) count -= 1;
  // "eo" before "p" is one vowel in "people" and "leopard".
  count += letters.match(/[^tcs]ia|eo(?!p)|[^q]ua|uo/g)?.length ?? 0;

  return Math.max(1, count);
}

/** Tells whether a final "e" is silent: after a consonant ("stone"), but not in "-le" ("apple"). */
function isSilentFinalE(letters: string): boolean {
  if (!/[^aeiouy]e$/.test(letters)) return false;
  return !/[^aeiouy]le$/.test(letters);
}
