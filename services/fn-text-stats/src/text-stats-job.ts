import type { HandlerJob, JobContext } from '@bullpen/handler';
import type { TextStatsConfig } from './config';
import { readTextFile } from './data-files';
import type { TextStatsRequest } from './request';
import { analyzeText, type TextStats } from './text-stats';

export interface TextStatsResult extends TextStats {
  readonly file: string;
}

/** Computes the statistics of one shipped text, sending progress and log lines as it goes. */
export async function runTextStats(
  job: HandlerJob<TextStatsRequest>,
  ctx: JobContext,
  config: TextStatsConfig,
): Promise<TextStatsResult> {
  const request = job.data;

  const text = await readTextFile(config.dataDir, request.file);
  await ctx.log(`Read ${text.length} characters from ${request.file}`);
  await ctx.progress(30);

  const stats = analyzeText(text, request);
  await ctx.log(
    `Counted ${stats.words} words in ${stats.sentences} sentences; ` +
      `Flesch reading ease ${stats.readability?.fleschReadingEase ?? 'n/a'}`,
  );
  await ctx.progress(100);

  return { file: request.file, ...stats };
}
